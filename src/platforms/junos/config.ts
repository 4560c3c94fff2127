// Junos configs over NETCONF: the service's groups as canonical text (running and intended
// compare equal whatever the device's pretty printing), loading them (stale groups deleted),
// and a config-history entry made loadable again.
import type { NetconfClient } from '../../netconf/client';
import { childText, escapeText, findAll, parseFragment, textOf, type XmlElement } from '../../netconf/xml';
import { JUNOS_GROUP_PREFIX } from './render';

/** Junos groups as canonical indented text (no attributes, no whitespace-only text). */
function canonXml(el: XmlElement, depth = 0): string {
  const pad = '  '.repeat(depth);
  const kids = el.children.filter((c): c is XmlElement => c.type === 'element');
  if (kids.length === 0) {
    const t = textOf(el).trim();
    return t ? `${pad}<${el.name}>${escapeText(t)}</${el.name}>` : `${pad}<${el.name}/>`;
  }
  return [`${pad}<${el.name}>`, ...kids.map((k) => canonXml(k, depth + 1)), `${pad}</${el.name}>`].join('\n');
}

/** The service's groups, sorted by name, then its apply-groups in configuration order (that
 * order decides inheritance, and an apply-groups an operator removed is drift too). */
function junosGroupsText(xml: string, onlyOwned: boolean): string {
  const nodes = parseFragment(xml);
  const groups = findAll(nodes, 'groups').filter((g) => !onlyOwned || (childText(g, 'name') ?? '').startsWith(JUNOS_GROUP_PREFIX));
  groups.sort((a, b) => (childText(a, 'name') ?? '').localeCompare(childText(b, 'name') ?? ''));
  const applied = findAll(nodes, 'apply-groups').map((a) => textOf(a).trim()).filter((n) => n.startsWith(JUNOS_GROUP_PREFIX));
  const lines = [...groups.map((g) => canonXml(g)), ...applied.map((n) => `<apply-groups>${escapeText(n)}</apply-groups>`)];
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** The running config's __fabric_ groups, as `<device>.groups`. */
export async function junosReadRunning(client: NetconfClient, device: string): Promise<Record<string, string>> {
  const data = await client.getConfig('running', '<configuration><groups/><apply-groups/></configuration>');
  return { [`${device}.groups`]: junosGroupsText(data, true) };
}

/** The rendered groups as junosReadRunning shows them. */
export function junosComparable(device: string, files: Record<string, string>): Record<string, string> {
  return { [`${device}.groups`]: junosGroupsText(files[`${device}.xml`] ?? '', false) };
}

export async function junosLoad(client: NetconfClient, device: string, files: Record<string, string>): Promise<void> {
  const xml = files[`${device}.xml`];
  if (!xml) throw new Error(`no rendered ${device}.xml`);
  const wanted = new Set(findAll(parseFragment(xml), 'groups').map((g) => childText(g, 'name') ?? ''));
  // Groups the service owned before but the new config lacks (a feature that went away), and
  // their apply-groups entries where present (deleting an absent statement is an error).
  const running = await client.getConfig('running', '<configuration><groups/><apply-groups/></configuration>');
  const nodes = parseFragment(running);
  const stale = findAll(nodes, 'groups').map((g) => childText(g, 'name') ?? '')
    .filter((n) => n.startsWith(JUNOS_GROUP_PREFIX) && !wanted.has(n));
  const applied = new Set(findAll(nodes, 'apply-groups').map((a) => textOf(a).trim()));
  if (stale.length) {
    const del = stale.map((n) => `<groups delete="delete"><name>${escapeText(n)}</name></groups>` +
      (applied.has(n) ? `<apply-groups delete="delete">${escapeText(n)}</apply-groups>` : '')).join('');
    await client.loadConfiguration({ action: 'merge', format: 'xml', config: `<configuration>${del}</configuration>` });
  }
  await client.loadConfiguration({ action: 'replace', format: 'xml', config: xml });
}

/**
 * A history entry (the canonical groups and apply-groups) made loadable: each group replaces
 * the device's copy, and junosLoad deletes service groups the entry lacks.
 */
export function junosFilesFromCommit(device: string, text: string): Record<string, string> {
  const lines = text.split('\n');
  if (!lines.some((l) => l.startsWith('<apply-groups>'))) {
    throw new Error('rollback: this Junos history entry has no apply-groups (recorded by an older version): it cannot be pushed back as it was');
  }
  // canonXml puts each top-level <groups> at the start of a line, unindented
  const body = lines.filter((l) => l !== '').map((l) => (l === '<groups>' ? '<groups replace="replace">' : l)).join('\n');
  return { [`${device}.xml`]: `<configuration>\n${body}\n</configuration>\n` };
}
