// Which operations the service has, read from its OpenAPI document. Pure (unit-tested in
// test/ui/ui-units.test.ts); capabilities.ts fetches the document.
type Doc = { paths?: Record<string, Record<string, unknown>>; components?: { schemas?: Record<string, unknown> } };

/** `/api/v1/fabrics/{f}/devices/{d}/rma` -> `/fabrics/{}/devices/{}/rma`: prefix and parameter names do not matter. */
const shape = (p: string) => p.replace(/^\/api\/v\d+(?=\/)/, '').replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '');

/** The operation object of `method path` in the document, if the service has it. Pure. */
export function findOperation(doc: unknown, method: string, path: string): Record<string, unknown> | undefined {
  const paths = (doc as Doc | undefined)?.paths;
  if (!paths || typeof paths !== 'object') return undefined;
  const want = shape(path);
  for (const [p, ops] of Object.entries(paths)) {
    if (shape(p) !== want || !ops || typeof ops !== 'object') continue;
    const op = (ops as Record<string, unknown>)[method.toLowerCase()];
    if (op && typeof op === 'object') return op as Record<string, unknown>;
  }
  return undefined;
}

/** The JSON schema of one property of an operation's JSON body (following one `$ref`), so the form checks what the server checks. */
export function bodyProperty(doc: unknown, op: Record<string, unknown> | undefined, prop: string): { pattern?: string; minLength?: number; maxLength?: number } | undefined {
  const content = (op?.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
  let schema = content?.['application/json']?.schema as { $ref?: string; properties?: Record<string, unknown> } | undefined;
  if (schema?.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    const all = (doc as Doc).components?.schemas;
    schema = all && Object.hasOwn(all, name) ? (all[name] as typeof schema) : undefined;
  }
  const p = schema?.properties;
  return p && Object.hasOwn(p, prop) ? (p[prop] as { pattern?: string; minLength?: number; maxLength?: number }) : undefined;
}
