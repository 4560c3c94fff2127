// `fabric export netbox` / `fabric import netbox` (src/cli/interop.ts): the IO around the pure
// mapping in export.ts and import.ts.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dump } from 'js-yaml';
import { loadProfiles } from '../../domain/profiles';
import { parseFabricFile } from '../../domain/parse';
import { validateFabric } from '../../domain/validate';
import { planFabric } from '../../intent/compile';
import { fabricToYaml } from '../../intent/generate';
import type { FabricFile } from '../../domain/types';
import { netboxExport, type DeviceFacts } from './export';
import { netboxToFabric, readNetbox, type NetboxImport } from './import';

export { netboxExport, FILES, COLUMNS } from './export';
export { netboxToFabric, readNetbox, NetboxImportError } from './import';

/** Offline: a fabric file (text or object) -> the bulk-import files, addresses from intent. */
export function exportFabric(input: string | object, facts?: Map<string, DeviceFacts>): { files: Record<string, string>; notes: string[] } {
  const profiles = loadProfiles();
  const { file, plans, allocations } = planFabric(input, undefined, profiles);
  return netboxExport(file, plans, allocations, profiles, facts);
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return Object.keys(files).sort();
}

/** A directory of NetBox files -> a validated fabric file (+ NetBox's numbering). */
export async function importDir(dir: string, o: { site?: string; base?: string } = {}): Promise<NetboxImport> {
  let names: string[];
  try { names = await readdir(dir); } catch (e) { throw new Error(`cannot read ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`); }
  const files = new Map<string, string>();
  for (const n of names.sort()) if (/\.(csv|json|ya?ml)$/.test(n)) files.set(n, await readFile(join(dir, n), 'utf8'));
  const base = o.base ? parseFabricFile(await readFile(o.base, 'utf8')) : undefined;
  const profiles = loadProfiles();
  const r = netboxToFabric(readNetbox(files), profiles, { site: o.site, base });
  validateFabric(parseFabricFile(JSON.parse(JSON.stringify(r.file))), profiles);
  return r;
}

/** The fabric file's YAML (the services of a base file after the fabric, devices and links). */
export function fabricYaml(file: FabricFile, header: string[] = []): string {
  const services = Object.fromEntries(['virtualNetworks', 'logicalRouters', 'servers', 'vpgs']
    .map((k) => [k, (file as unknown as Record<string, unknown>)[k]]).filter(([, v]) => Array.isArray(v) && v.length));
  const rest = Object.keys(services).length ? dump(services, { flowLevel: 2, lineWidth: -1 }) : '';
  return `${header.map((h) => `# ${h}\n`).join('')}${fabricToYaml(file)}${rest}`;
}
