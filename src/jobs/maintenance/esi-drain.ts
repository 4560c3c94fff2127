// The ESI-LAG side of the maintenance drain (issue 15): the device's legs of its multihomed
// (EVPN all-active) LAGs are taken out of service, so each multihomed server loses that link
// (carrier down at once, no LACP timeout) and sends everything through its other leaf; with no
// member up the LAG goes down, the device withdraws its ES routes (type-1/type-4) and its ES peer
// becomes designated forwarder. Leaving removes it and the members come back.
//   - Junos: the member interfaces `disable`d, in a group of their own (`__fabric_maintenance__`,
//     applied last) so leaving simply drops the group (the push deletes a stale service group).
//     This is the step Juniper's ESI-LAG upgrade procedure gives: disable the server-facing
//     member links of the switch to be upgraded, upgrade, enable them again.
//   - FRR (ifupdown2 text on the twin and on Cumulus-style boxes): `link-down yes` on each member
//     port of a bond that carries an `evpn mh es-id` in frr.conf (the agent keeps such a member down).
// Pure text functions over the rendered files: every caller of drainFiles (autoconfigure of a
// drained device, drift, decommission) gets the same drained config.

export const JUNOS_MAINT_GROUP = '__fabric_maintenance__';
const FRR_MARK = '# maintenance (fabric service): ESI-LAG member out of service';

/** The ESI-LAG member ports of the rendered files, per LAG (the drain's subject). */
export function esiLagMembers(platform: string, files: Record<string, string>): { lag: string; ports: string[] }[] {
  if (platform === 'junos') {
    const xml = Object.entries(files).find(([n]) => n.endsWith('.xml'))?.[1] ?? '';
    return junosEsiMembers(xml);
  }
  if (platform === 'frr') {
    const conf = Object.entries(files).find(([n]) => n.endsWith('.frr.conf'))?.[1] ?? '';
    const ifs = Object.entries(files).find(([n]) => n.endsWith('.interfaces'))?.[1] ?? '';
    return frrEsiMembers(conf, ifs);
  }
  return [];
}

function junosEsiMembers(xml: string): { lag: string; ports: string[] }[] {
  const ifaces = [...xml.matchAll(/<interface>\s*<name>([^<]+)<\/name>([\s\S]*?)<\/interface>/g)].map((m) => ({ name: m[1].trim(), body: m[2] }));
  const esi = new Set(ifaces.filter((i) => /^ae\d+$/.test(i.name) && /<esi>/.test(i.body)).map((i) => i.name));
  const out = new Map<string, string[]>();
  for (const i of ifaces) {
    const b = /<bundle>([^<]+)<\/bundle>/.exec(i.body)?.[1]?.trim();
    if (b && esi.has(b) && !out.get(b)?.includes(i.name)) out.set(b, [...(out.get(b) ?? []), i.name]);
  }
  return [...out].map(([lag, ports]) => ({ lag, ports }));
}

function frrEsiMembers(conf: string, ifs: string): { lag: string; ports: string[] }[] {
  const es = new Set<string>();
  let cur: string | undefined;
  for (const l of conf.split('\n')) {
    const m = /^interface (\S+)/.exec(l);
    if (m) cur = m[1];
    else if (/^\S/.test(l)) cur = undefined;
    else if (cur && /^ evpn mh es-id /.test(l)) es.add(cur);
  }
  const out: { lag: string; ports: string[] }[] = [];
  let iface: string | undefined;
  for (const l of ifs.split('\n')) {
    const m = /^iface (\S+)/.exec(l);
    if (m) { iface = m[1]; continue; }
    const s = /^\s+bond-slaves\s+(.+)$/.exec(l);
    if (s && iface && es.has(iface)) out.push({ lag: iface, ports: s[1].trim().split(/\s+/) });
  }
  return out;
}

/** The rendered files with the ESI-LAG members out of service (idempotent; no ESI-LAG: unchanged). */
export function drainEsiFiles(platform: string, files: Record<string, string>): Record<string, string> {
  const ports = esiLagMembers(platform, files).flatMap((l) => l.ports);
  if (!ports.length) return files;
  const out = { ...files };
  for (const [name, text] of Object.entries(files)) {
    if (platform === 'junos' && name.endsWith('.xml')) out[name] = drainJunosEsi(text, ports);
    if (platform === 'frr' && name.endsWith('.interfaces')) out[name] = drainFrrEsi(text, ports);
  }
  return out;
}

function drainJunosEsi(xml: string, ports: string[]): string {
  if (xml.includes(`<name>${JUNOS_MAINT_GROUP}</name>`)) return xml;
  const group = ['  <groups replace="replace">', `    <name>${JUNOS_MAINT_GROUP}</name>`, '    <interfaces>',
    ...ports.flatMap((p) => ['      <interface>', `        <name>${p}</name>`, '        <disable/>', '      </interface>']),
    '    </interfaces>', '  </groups>'].join('\n');
  const i = xml.indexOf('  <apply-groups>');
  const withGroup = i >= 0 ? `${xml.slice(0, i)}${group}\n${xml.slice(i)}` : xml.replace('</configuration>', `${group}\n</configuration>`);
  // Applied last: its `disable` is inherited whatever the other groups say of these ports.
  return withGroup.replace(/<\/configuration>(\s*)$/, `  <apply-groups>${JUNOS_MAINT_GROUP}</apply-groups>\n</configuration>$1`);
}

function drainFrrEsi(text: string, ports: string[]): string {
  const lines = text.split('\n');
  const todo: string[] = [];
  for (const p of ports) {
    const at = lines.findIndex((l) => new RegExp(`^iface ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(l));
    if (at < 0) { todo.push(p); continue; }
    let end = at + 1;
    while (end < lines.length && /^\s+\S/.test(lines[end])) end++;
    if (lines.slice(at + 1, end).some((l) => /^\s+link-down\s+yes\s*$/.test(l))) continue;
    lines.splice(at + 1, 0, `    link-down yes`);
  }
  let out = lines.join('\n');
  if (todo.length) {
    if (out.includes(FRR_MARK)) return out;
    if (out && !out.endsWith('\n')) out += '\n';
    out += `\n${FRR_MARK}\n${todo.map((p) => `auto ${p}\niface ${p}\n    link-down yes\n`).join('\n')}`;
  }
  return out;
}

/** The member ports the files take out of service (running config check after the push). */
export function drainedEsiPorts(platform: string, files: Record<string, string>): string[] {
  if (platform === 'junos') {
    const xml = Object.entries(files).map(([, t]) => t).join('\n');
    const g = new RegExp(`<name>${JUNOS_MAINT_GROUP}</name>([\\s\\S]*?)</groups>`).exec(xml)?.[1] ?? '';
    return [...g.matchAll(/<name>([^<]+)<\/name>\s*<disable\/>/g)].map((m) => m[1].trim());
  }
  const ifs = Object.entries(files).find(([n]) => n.endsWith('.interfaces'))?.[1] ?? '';
  const out: string[] = [];
  let iface: string | undefined;
  for (const l of ifs.split('\n')) {
    const m = /^iface (\S+)/.exec(l);
    if (m) iface = m[1];
    else if (iface && /^\s+link-down\s+yes\s*$/.test(l)) out.push(iface);
  }
  return out;
}
