// Pure checks the store runs before a write: does an allocation record still fit the pools,
// and is an imported record free of duplicates. No IO.
import type { Allocations, Namespaces } from '../domain/types';
import { contains, parseCidr, parseIp, Cidr } from '../domain/ipv4';

function pools(list: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const t of list) { const r = parseCidr(t); if (r.ok) out.push(r.cidr); }
  return out;
}

/**
 * The first allocation that would be orphaned by `ns` (outside every pool), as a one-line
 * message naming the pool and the holder; undefined when everything still fits.
 */
export function orphanedAllocation(ns: Namespaces, a: Allocations): { path: string; message: string } | undefined {
  const lo = pools(ns.loopback ?? []);
  for (const [dev, ip] of Object.entries(a.loopbacks)) {
    const n = parseIp(ip);
    if (n === undefined || !lo.some((c) => contains(c, n))) {
      return { path: 'namespaces.loopback', message: `namespaces.loopback: loopback ${ip} of device ${dev} would fall outside every loopback pool` };
    }
  }
  const fab = pools(ns.fabric ?? []);
  for (const [key, cidr] of Object.entries(a.links)) {
    const r = parseCidr(cidr);
    if (!r.ok || !fab.some((c) => contains(c, r.cidr.base) && contains(c, r.cidr.base + r.cidr.size - 1))) {
      return { path: 'namespaces.fabric', message: `namespaces.fabric: subnet ${cidr} of link ${key} would fall outside every fabric pool` };
    }
  }
  const ranges = ns.asn ?? [];
  for (const [dev, asn] of Object.entries(a.asns)) {
    if (!ranges.some((r) => asn >= r.min && asn <= r.max)) {
      return { path: 'namespaces.asn', message: `namespaces.asn: ASN ${asn} of device ${dev} would fall outside every ASN range` };
    }
  }
  return undefined;
}

/** First duplicate address / subnet / ASN in a record, or undefined. */
export function duplicateAllocation(a: Allocations): string | undefined {
  const check = <V>(kind: string, rec: Record<string, V>): string | undefined => {
    const seen = new Map<V, string>();
    for (const holder in rec) {
      const v = rec[holder];
      const prev = seen.get(v);
      if (prev !== undefined) return `${kind} ${String(v)} is given to both ${prev} and ${holder}`;
      seen.set(v, holder);
    }
    return undefined;
  };
  return check('loopback', a.loopbacks) ?? check('ASN', a.asns) ?? check('subnet', a.links) ?? check('ESI index', a.esis ?? {});
}

/** Same entries (order aside). */
export function sameAllocations(a: Allocations, b: Allocations): boolean {
  const eq = <V>(x: Record<string, V>, y: Record<string, V>) => {
    let n = 0;
    for (const k in x) { if (x[k] !== y[k]) return false; n++; }
    return n === Object.keys(y).length;
  };
  return eq(a.loopbacks, b.loopbacks) && eq(a.asns, b.asns) && eq(a.links, b.links) && eq(a.esis ?? {}, b.esis ?? {});
}

/** Names the store can put into keys and events: the domain's rule. */
export { NAME_RE } from '../domain/validate';

/**
 * Why `ip` cannot be a device's management address in a fabric with namespaces `ns`, or
 * undefined: it must be an IPv4 address inside a management subnet (the service sends the
 * fabric's credentials there).
 */
export function managementIpProblem(ns: Namespaces, ip: string): string | undefined {
  const n = parseIp(ip);
  if (n === undefined) return `"${ip}" is not an IPv4 address`;
  const mgmt = pools(ns.management.map((m) => m.cidr));
  if (!mgmt.some((c) => contains(c, n))) return `${ip} is outside the fabric's management namespace (${ns.management.map((m) => m.cidr).join(', ') || 'none'})`;
  return undefined;
}
