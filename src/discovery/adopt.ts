// Brownfield adoption, pure: the underlay each device runs (src/platforms/<p>/underlay.ts) and
// the links LLDP found -> the allocations the fabric records for them (so the pools never hand
// those values out again), the values that lie outside the fabric's namespaces, and conflicts
// (one loopback or ASN on two devices, a link whose ends are not one /31), each naming devices.
import { contains, formatIp, parseIp } from '../domain/ipv4';
import type { Allocations, LinkSpec, Namespaces } from '../domain/types';
import { linkKey } from '../domain/types';
import type { RunningUnderlay } from '../platforms/types';

import { pools } from '../intent/widen';

export { widenNamespaces } from '../intent/widen';

export interface AdoptInput {
  devices: { name: string; underlay: RunningUnderlay }[];
  links: LinkSpec[];
  namespaces: Namespaces;
}

export interface AdoptResult {
  allocations: Allocations;
  /** links (by linkKey) whose `b` end runs the lower address: stored with their ends swapped */
  swap: string[];
  /** "loopback 192.0.2.1 of leaf1 is outside namespaces.loopback (10.0.0.0/24)" */
  outside: string[];
  /** what the job fails with; each names the devices */
  conflicts: string[];
  /** devices that run no BGP / no loopback: nothing adopted for them (allocated later) */
  notes: string[];
}

/** The address of `port` on `u` (a port's first IPv4 address), as `{ip, prefix}`. */
function portAddress(u: RunningUnderlay, port: string): { ip: number; prefix: number; text: string } | undefined {
  // Junos reports `xe-0/0/0.0` (unit 0) where LLDP names the port `xe-0/0/0`
  const a = u.interfaces.find((i) => i.name === port) ?? u.interfaces.find((i) => i.name === `${port}.0`);
  if (!a) return undefined;
  const [ip, len] = a.address.split('/');
  const n = parseIp(ip);
  return n === undefined ? undefined : { ip: n, prefix: Number(len), text: a.address };
}

export function adoptUnderlay(inp: AdoptInput): AdoptResult {
  const out: AdoptResult = { allocations: { loopbacks: {}, asns: {}, links: {} }, swap: [], outside: [], conflicts: [], notes: [] };
  const lo = pools(inp.namespaces.loopback ?? []);
  const fab = pools(inp.namespaces.fabric ?? []);
  const ranges = inp.namespaces.asn ?? [];
  const byName = new Map(inp.devices.map((d) => [d.name, d.underlay]));
  const loHolder = new Map<string, string>();
  const asHolder = new Map<number, string>();
  for (const { name, underlay: u } of inp.devices) {
    if (u.loopback) {
      const prev = loHolder.get(u.loopback);
      if (prev !== undefined) out.conflicts.push(`loopback ${u.loopback} is run by both ${prev} and ${name}`);
      else {
        loHolder.set(u.loopback, name);
        out.allocations.loopbacks[name] = u.loopback;
        const n = parseIp(u.loopback);
        if (n === undefined || !lo.some((c) => contains(c, n))) out.outside.push(`loopback ${u.loopback} of ${name} is outside namespaces.loopback (${(inp.namespaces.loopback ?? []).join(', ') || 'none'})`);
      }
    } else out.notes.push(`${name}: no loopback /32 running`);
    if (u.asn !== undefined) {
      const prev = asHolder.get(u.asn);
      if (prev !== undefined) out.conflicts.push(`ASN ${u.asn} is run by both ${prev} and ${name} (the fabric gives each device its own underlay ASN)`);
      else if (inp.namespaces.overlayAsn === u.asn) out.conflicts.push(`ASN ${u.asn} of ${name} is the fabric's overlayAsn`);
      else {
        asHolder.set(u.asn, name);
        out.allocations.asns[name] = u.asn;
        if (!ranges.some((r) => u.asn! >= r.min && u.asn! <= r.max)) out.outside.push(`ASN ${u.asn} of ${name} is outside namespaces.asn (${ranges.map((r) => `${r.min}..${r.max}`).join(', ') || 'none'})`);
      }
    } else out.notes.push(`${name}: runs no BGP`);
  }
  const netHolder = new Map<number, string>();
  for (const l of inp.links) {
    const ua = byName.get(l.a.device);
    const ub = byName.get(l.b.device);
    if (!ua || !ub) continue;
    const a = portAddress(ua, l.a.port);
    const b = portAddress(ub, l.b.port);
    if (!a && !b) continue; // an unrouted link (peer link, spine-spine): nothing to adopt
    const key = linkKey(l);
    const ends = `${l.a.device}:${l.a.port} (${a?.text ?? 'no address'}) and ${l.b.device}:${l.b.port} (${b?.text ?? 'no address'})`;
    if (!a || !b || a.prefix !== 31 || b.prefix !== 31 || a.ip >>> 1 !== b.ip >>> 1 || a.ip === b.ip) {
      out.conflicts.push(`link ${l.a.device}--${l.b.device}: ${ends} are not one /31`);
      continue;
    }
    const base = (a.ip >>> 1) * 2;
    const prev = netHolder.get(base);
    if (prev !== undefined) { out.conflicts.push(`link ${l.a.device}--${l.b.device}: ${formatIp(base)}/31 is also run on link ${prev}`); continue; }
    netHolder.set(base, `${l.a.device}--${l.b.device}`);
    const cidr = `${formatIp(base)}/31`;
    out.allocations.links[key] = cidr;
    // compile gives a link's `a` end the lower address: keep what runs
    if (a.ip > b.ip) out.swap.push(key);
    if (!fab.some((c) => contains(c, base) && contains(c, base + 1))) out.outside.push(`subnet ${cidr} of link ${l.a.device}--${l.b.device} is outside namespaces.fabric (${(inp.namespaces.fabric ?? []).join(', ') || 'none'})`);
  }
  return out;
}
