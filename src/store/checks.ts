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
  const seen = new Map<string, string>();
  const check = (kind: string, value: string, holder: string) => {
    const k = `${kind}:${value}`;
    const prev = seen.get(k);
    if (prev !== undefined) return `${kind} ${value} is given to both ${prev} and ${holder}`;
    seen.set(k, holder);
    return undefined;
  };
  for (const [d, ip] of Object.entries(a.loopbacks)) { const e = check('loopback', ip, d); if (e) return e; }
  for (const [d, asn] of Object.entries(a.asns)) { const e = check('ASN', String(asn), d); if (e) return e; }
  for (const [l, c] of Object.entries(a.links)) { const e = check('subnet', c, l); if (e) return e; }
  return undefined;
}

/** Names the store can put into keys and events: the domain's rule. */
export { NAME_RE } from '../domain/validate';
