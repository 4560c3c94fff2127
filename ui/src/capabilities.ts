// What the service supports, read from its own OpenAPI document (GET /api/v1/openapi.json,
// once per page load): the UI offers an action only when the server has its operation, so a
// UI newer than its service (RMA before its route lands) never shows a form that would 404.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

export { bodyProperty, findOperation } from './openapi-ops';

let docOnce: Promise<unknown> | undefined;
/** The service's OpenAPI document, fetched once (a failure: nothing optional is offered, asked again next time). */
export function useOpenApi(): unknown {
  const [doc, setDoc] = useState<unknown>();
  useEffect(() => {
    let live = true;
    docOnce ??= api.openapi().catch((e: unknown) => { docOnce = undefined; throw e; });
    docOnce.then((d) => { if (live) setDoc(d); }, () => undefined);
    return () => { live = false; };
  }, []);
  return doc;
}
