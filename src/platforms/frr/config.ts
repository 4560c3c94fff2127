// FRR configs over NETCONF: the device agent's <frr> tree (frr.conf text + ifupdown2
// interfaces text) in the candidate and running datastores, and config-history entries.
import type { NetconfClient } from '../../netconf/client';
import { escapeText, findAll, parseFragment, textOf } from '../../netconf/xml';

export const NS_FRR = 'urn:fabric:frr';

function frrFiles(device: string, files: Record<string, string>): { frrConf: string; interfaces: string } {
  return { frrConf: files[`${device}.frr.conf`] ?? '', interfaces: files[`${device}.interfaces`] ?? '' };
}

/** frr.conf and (when the device has any) the interfaces file, as the agent reports them. */
export async function frrReadRunning(client: NetconfClient, device: string): Promise<Record<string, string>> {
  const data = await client.getConfig('running', `<frr xmlns="${NS_FRR}"/>`);
  const frr = findAll(parseFragment(data), 'frr')[0];
  const conf = frr ? textOf(findAll(frr.children, 'frr-conf')[0]) : '';
  const ifs = frr ? textOf(findAll(frr.children, 'interfaces')[0]) : '';
  const out: Record<string, string> = { [`${device}.frr.conf`]: conf };
  if (ifs) out[`${device}.interfaces`] = ifs;
  return out;
}

export function frrComparable(device: string, files: Record<string, string>): Record<string, string> {
  const f = frrFiles(device, files);
  const out: Record<string, string> = { [`${device}.frr.conf`]: f.frrConf };
  if (f.interfaces) out[`${device}.interfaces`] = f.interfaces;
  return out;
}

export async function frrLoad(client: NetconfClient, device: string, files: Record<string, string>): Promise<void> {
  const f = frrFiles(device, files);
  const config = `<frr xmlns="${NS_FRR}"><frr-conf>${escapeText(f.frrConf)}</frr-conf><interfaces>${escapeText(f.interfaces)}</interfaces></frr>`;
  await client.editConfig({ target: 'candidate', config, defaultOperation: 'replace' });
}

/** The inverse of commitText: one file is its text; several are `# <name>\n<text>` joined by '\n'. */
export function frrFilesFromCommit(device: string, text: string): Record<string, string> {
  const conf = `${device}.frr.conf`;
  const ifs = `${device}.interfaces`;
  if (!text.startsWith(`# ${conf}\n`)) return { [conf]: text };
  const sep = `\n# ${ifs}\n`;
  const i = text.indexOf(sep);
  if (i < 0) return { [conf]: text.slice(conf.length + 3) };
  return { [conf]: text.slice(conf.length + 3, i), [ifs]: text.slice(i + sep.length) };
}
