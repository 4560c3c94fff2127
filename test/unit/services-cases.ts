// Shared by the services unit tests: the services-frr fabric as a plain object to mutate.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { collectFabricErrors, parseFabricFile } from '../../src/domain';

const REPO = path.resolve(__dirname, '../..');
export const SERVICES_FRR = readFileSync(path.join(REPO, 'test/golden/fabrics/services-frr.yaml'), 'utf8');
export const SERVICES_JUNOS = readFileSync(path.join(REPO, 'test/golden/fabrics/services-junos.yaml'), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = any;
export const base = (text = SERVICES_FRR): Doc => load(text) as Doc;

/** Every problem of a mutated copy, as `path | message`: the schema's (parse) or else validation's. */
export function problems(mutate: (d: Doc) => void, text = SERVICES_FRR): string[] {
  const d = base(text);
  mutate(d);
  try {
    const file = parseFabricFile(d);
    return collectFabricErrors(file).map((e) => `${e.path} | ${e.message}`);
  } catch (e) {
    // The schema's errors come all at once from parse (FabricError.errors).
    const fe = e as { path?: string; message: string; errors?: { path: string; message: string }[] };
    return (fe.errors ?? [fe]).map((x) => `${x.path} | ${x.message}`);
  }
}
