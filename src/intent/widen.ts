// Namespaces widened by adopted values (brownfield `adoptOutsidePools: true`): a running
// loopback, link subnet or ASN outside the fabric's pools becomes a pool of its own. Pure.
import { contains, parseCidr, parseIp, type Cidr } from '../domain/ipv4';
import type { Allocations, Namespaces } from '../domain/types';

/** The parsable CIDRs of a namespace's pool list. */
export function pools(texts: string[]): Cidr[] {
  return texts.map((t) => parseCidr(t)).flatMap((r) => (r.ok ? [r.cidr] : []));
}

/**
 * Namespaces that also hold the adopted values outside them (adoptOutsidePools: true): a /32
 * per loopback, a /31 per link, a one-ASN range per ASN. The pools then keep them, and hand out
 * nothing that overlaps them, like any other allocation.
 */
export function widenNamespaces(ns: Namespaces, a: Allocations): Namespaces {
  const lo = pools(ns.loopback ?? []);
  const fab = pools(ns.fabric ?? []);
  const next: Namespaces = { ...ns, loopback: [...(ns.loopback ?? [])], fabric: [...(ns.fabric ?? [])], asn: [...(ns.asn ?? [])] };
  for (const ip of Object.values(a.loopbacks)) {
    const n = parseIp(ip);
    if (n !== undefined && !lo.some((c) => contains(c, n))) next.loopback.push(`${ip}/32`);
  }
  for (const cidr of Object.values(a.links)) {
    const r = parseCidr(cidr);
    if (r.ok && !fab.some((c) => contains(c, r.cidr.base) && contains(c, r.cidr.base + 1))) next.fabric.push(cidr);
  }
  for (const asn of Object.values(a.asns)) {
    if (!next.asn.some((r) => asn >= r.min && asn <= r.max)) next.asn.push({ min: asn, max: asn });
  }
  return next;
}
