// Security groups on the twin: the `port-filter <netdev>` stanzas of the interfaces text (from
// templates/frr/overlay_security_group.njk) -> one nftables table in the bridge family, checked
// with `nft -c` at validate and swapped in with one `nft -f` transaction at apply, so the device
// enforces what it accepted or refuses it. Parsing and rendering are pure.
//
// Semantics: a netdev's `ingress` rules see frames the bridge forwards out of it (to the server:
// the remote is the source), `egress` rules frames that came in on it (from the server: the remote
// is the destination); in order, first match wins; IPv4 only; what no rule matches passes.
// Each netdev and direction is its own chain that the forward hook jumps to, and `allow` is
// `return`, so a frame between two filtered ports meets both ports' rules.
import { run } from '../sh';

export interface PortFilterRule {
  direction: 'ingress' | 'egress';
  action: 'allow' | 'deny';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp';
  ports?: { from: number; to: number };
  prefixes: string[];
  line: number;
}
export interface PortFilter { netdev: string; rules: PortFilterRule[]; line: number }

export class FilterError extends Error {}

/** The table the agent owns; nothing else in the device's nftables is touched. */
export const NFT_TABLE = 'fabric_sg';

const NETDEV_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const PREFIX_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function parseRule(tokens: string[], lineNo: number): PortFilterRule {
  const where = `interfaces line ${lineNo}`;
  if (tokens.length !== 5) throw new FilterError(`${where}: rule needs <ingress|egress> <allow|deny> <any|tcp|udp|icmp> <ports|-> <prefix,...>`);
  const [direction, action, protocol, ports, prefixes] = tokens;
  if (direction !== 'ingress' && direction !== 'egress') throw new FilterError(`${where}: direction "${direction}" is not ingress or egress`);
  if (action !== 'allow' && action !== 'deny') throw new FilterError(`${where}: action "${action}" is not allow or deny`);
  if (!['any', 'tcp', 'udp', 'icmp'].includes(protocol)) throw new FilterError(`${where}: protocol "${protocol}" is not any, tcp, udp or icmp`);
  const rule: PortFilterRule = { direction, action, protocol: protocol as PortFilterRule['protocol'], prefixes: [], line: lineNo };
  if (ports !== '-') {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || from < 1 || to > 65535 || to < from) throw new FilterError(`${where}: ports "${ports}" is not a port or range in 1-65535`);
    if (protocol !== 'tcp' && protocol !== 'udp') throw new FilterError(`${where}: ports need tcp or udp`);
    rule.ports = { from, to };
  }
  for (const p of prefixes.split(',')) {
    const m = PREFIX_RE.exec(p);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new FilterError(`${where}: "${p}" is not an IPv4 prefix`);
    rule.prefixes.push(p);
  }
  return rule;
}

/** The `port-filter` stanzas of an interfaces text (every other stanza is interfaces.ts's). */
export function parsePortFilters(text: string): PortFilter[] {
  const out: PortFilter[] = [];
  const seen = new Map<string, number>();
  let cur: PortFilter | undefined;
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [kw, ...rest] = line.split(/\s+/);
    if (kw === 'port-filter') {
      const name = rest[0] ?? '';
      if (rest.length !== 1 || !NETDEV_RE.test(name)) throw new FilterError(`interfaces line ${lineNo}: port-filter needs one interface name (got "${rest.join(' ')}")`);
      if (seen.has(name)) throw new FilterError(`interfaces line ${lineNo}: port-filter ${name} given twice (also line ${seen.get(name)})`);
      seen.set(name, lineNo);
      cur = { netdev: name, rules: [], line: lineNo };
      out.push(cur);
      return;
    }
    if (kw === 'auto' || kw === 'iface') { cur = undefined; return; }
    if (!cur) return;
    if (kw !== 'rule') throw new FilterError(`interfaces line ${lineNo}: unknown key "${kw}" in port-filter ${cur.netdev} (rule)`);
    cur.rules.push(parseRule(rest, lineNo));
  });
  return out;
}

function nftRule(r: PortFilterRule): string {
  const addr = `ip ${r.direction === 'ingress' ? 'saddr' : 'daddr'}`;
  const parts: string[] = [];
  const any = r.prefixes.includes('0.0.0.0/0');
  // `ether type ip` keeps an address-less rule to IPv4 (ARP and the rest pass, as on Junos).
  parts.push(any ? 'ether type ip' : `${addr} { ${r.prefixes.join(', ')} }`);
  if (r.protocol === 'icmp') parts.push('ip protocol icmp');
  else if (r.protocol !== 'any') {
    parts.push(r.ports ? `${r.protocol} dport ${r.ports.from === r.ports.to ? r.ports.from : `${r.ports.from}-${r.ports.to}`}` : `ip protocol ${r.protocol}`);
  }
  parts.push('counter', r.action === 'allow' ? 'return' : 'drop');
  return parts.join(' ');
}

/** One nft script that replaces the agent's table atomically (an empty list removes it). */
export function nftScript(filters: PortFilter[]): string {
  const lines = [`table bridge ${NFT_TABLE}`, `delete table bridge ${NFT_TABLE}`];
  if (filters.length === 0) return `${lines.join('\n')}\n`;
  lines.push(`table bridge ${NFT_TABLE} {`);
  const hooks: string[] = [];
  filters.forEach((f, i) => {
    for (const dir of ['egress', 'ingress'] as const) {
      const rules = f.rules.filter((r) => r.direction === dir);
      if (rules.length === 0) continue;
      const chain = `p${i}_${dir}`;
      hooks.push(`\t\t${dir === 'egress' ? 'iifname' : 'oifname'} "${f.netdev}" jump ${chain}`);
      lines.push(`\tchain ${chain} {`, `\t\tcomment "${f.netdev} ${dir}"`, ...rules.map((r) => `\t\t${nftRule(r)}`), '\t}');
    }
  });
  lines.push('\tchain forward {', '\t\ttype filter hook forward priority 0; policy accept;', ...hooks, '\t}', '}');
  return `${lines.join('\n')}\n`;
}

async function nft(args: string[], script: string): Promise<void> {
  const r = await run(['nft', ...args, '-f', '-'], { input: script, timeoutMs: 15_000 });
  if (r.code === 127 || /ENOENT/.test(r.stderr)) throw new FilterError('port-filter: nftables (nft) is not installed on this device');
  if (r.code !== 0) throw new FilterError(`port-filter: nft refused the rules: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
}

/** Validate: the stanzas parse and the kernel's nftables takes the ruleset (nothing changes). */
export async function checkPortFilters(text: string): Promise<PortFilter[]> {
  const filters = parsePortFilters(text);
  // Nothing to check when no filter is given and none was ever applied (nft may be absent).
  if (filters.length) await nft(['-c'], nftScript(filters));
  return filters;
}

/** Apply: swap the agent's table for this text's filters in one transaction. */
export async function applyPortFilters(text: string, previousText: string): Promise<void> {
  const filters = parsePortFilters(text);
  if (filters.length === 0 && parsePortFilters(previousText).length === 0) return;
  await nft([], nftScript(filters));
}
