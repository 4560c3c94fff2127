// Resource allocation: loopbacks, /31 link subnets and ASNs, as a pure function
// (inventory, existing record) -> new record, so the store can apply it atomically.
//
// Rules:
// - Existing entries are kept when their owner still exists and the value still lies in a
//   pool and is not already taken; adding or removing others never renumbers them.
// - New owners take the lowest free value, owners in file order (devices as listed, links as
//   listed). With an empty record this is the offline render's plain file-order allocation.
// - The returned record holds live owners only: a removed device's or link's value is free
//   again at once and the next new owner may take it (lowest free). A store that wants a
//   quarantine can keep its own tombstones and pass them in as pseudo-owners.
// - Pools are exhausted -> FabricError naming the pool, its size and how many were needed.
// - ESI indexes (1..65535) per multihomed VPG follow the same rules (allocateEsis).
import { FabricError } from '../domain/errors';
import { RESERVED_ASNS } from '../domain/validate';
import { Cidr, formatIp, hostRange, parseCidr, parseIp } from '../domain/ipv4';
import { Allocations, DeviceSpec, FabricFile, LinkSpec, PhysicalRole, linkKey } from '../domain/types';

export function emptyAllocations(): Allocations {
  return { loopbacks: {}, asns: {}, links: {} };
}

/**
 * A link is addressed (gets a /31 and an EBGP session) when it joins two different tiers:
 * leaf-spine, spine-superspine, spine/leaf-gateway, superspine-gateway. Links inside one tier
 * (leaf-leaf ESI/MC-LAG peer links, spine-spine) are not routed hops of the Clos.
 */
export function isAddressedPair(a: PhysicalRole, b: PhysicalRole): boolean {
  return a !== b;
}

export function deviceIndex(file: FabricFile): Map<string, DeviceSpec> {
  const m = new Map<string, DeviceSpec>();
  for (const d of file.devices) if (!m.has(d.name)) m.set(d.name, d);
  return m;
}

export function isAddressedLink(l: LinkSpec, devices: Map<string, DeviceSpec>): boolean {
  const a = devices.get(l.a.device);
  const b = devices.get(l.b.device);
  return !!a && !!b && isAddressedPair(a.physicalRole, b.physicalRole);
}

/** Ordered pool of integer values made of [first, first+count) runs. */
interface Pool { runs: { first: number; count: number }[]; size: number }

function poolOf(runs: { first: number; count: number }[]): Pool {
  return { runs: runs.filter((r) => r.count > 0), size: runs.reduce((s, r) => s + Math.max(0, r.count), 0) };
}

function inPool(p: Pool, v: number): boolean {
  for (const r of p.runs) if (v >= r.first && v < r.first + r.count) return true;
  return false;
}

/** Yields free values of a pool in ascending run order, skipping `used`. */
function freeCursor(p: Pool, used: Set<number>): () => number | undefined {
  let ri = 0;
  let next = p.runs.length ? p.runs[0].first : 0;
  return () => {
    while (ri < p.runs.length) {
      const r = p.runs[ri];
      while (next < r.first + r.count) {
        const v = next++;
        if (!used.has(v)) { used.add(v); return v; }
      }
      ri++;
      if (ri < p.runs.length) next = p.runs[ri].first;
    }
    return undefined;
  };
}

function cidrs(texts: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const t of texts) {
    const r = parseCidr(t);
    if (r.ok) out.push(r.cidr);
  }
  return out;
}

/**
 * Generic stable allocation over owners: keep valid existing values, then hand out the
 * lowest free values in owner order. `parse` returns undefined for unusable old values.
 */
function allocateOver<T>(
  owners: string[], existing: Record<string, T>, pool: Pool,
  parse: (v: T) => number | undefined, format: (n: number) => T,
  exhausted: (needed: number) => FabricError, never: ReadonlySet<number> = new Set(),
): Record<string, T> {
  const used = new Set<number>();
  const kept = new Map<string, number>();
  for (const o of owners) {
    if (!Object.prototype.hasOwnProperty.call(existing, o)) continue;
    const v = parse(existing[o]);
    if (v !== undefined && inPool(pool, v) && !used.has(v)) { used.add(v); kept.set(o, v); } // kept: never renumber
  }
  // Values never handed out (reserved ASNs) count as used.
  const next = freeCursor(pool, new Set([...used, ...never]));
  const out: Record<string, T> = {};
  for (const o of owners) {
    let v = kept.get(o);
    if (v === undefined) {
      v = next();
      if (v === undefined) throw exhausted(owners.length);
    }
    out[o] = format(v);
  }
  return out;
}

function poolText(texts: string[]): string {
  return texts.length ? texts.join(', ') : '(no subnet)';
}

export function allocate(file: FabricFile, existing: Allocations = emptyAllocations()): Allocations {
  const ns = file.fabric.namespaces;
  const names = file.devices.map((d) => d.name);

  // Loopbacks: a /32 per device, first host address of the first subnet first.
  const lo = poolOf(cidrs(ns.loopback).map(hostRange));
  const loopbacks = allocateOver<string>(
    names, existing.loopbacks ?? {}, lo, (t) => parseIp(t), formatIp,
    (needed) => new FabricError('fabric.namespaces.loopback',
      `fabric.namespaces.loopback: pool exhausted: ${poolText(ns.loopback)} holds ${lo.size} loopback addresses, ${needed} devices need one each`),
  );

  // ASNs: one distinct ASN per device, ranges in order; never the overlay ASN.
  const asnRuns = ns.asn.filter((r) => r.min <= r.max).map((r) => ({ first: r.min, count: r.max - r.min + 1 }));
  const asnPool = poolOf(asnRuns);
  const overlay = ns.overlayAsn;
  const reservedIn = [...RESERVED_ASNS].filter((v) => inPool(asnPool, v));
  const asns = allocateOver<number>(
    names, existing.asns ?? {}, asnPool,
    (n) => (Number.isInteger(n) && n !== overlay ? n : undefined), (n) => n,
    (needed) => new FabricError('fabric.namespaces.asn',
      `fabric.namespaces.asn: pool exhausted: ${ns.asn.map((r) => `${r.min}..${r.max}`).join(', ') || '(no range)'} holds ${asnPool.size - reservedIn.length} ASNs${reservedIn.length ? ` (reserved ${reservedIn.join(', ')} never used)` : ''}, ${needed} devices need one each`),
    RESERVED_ASNS,
  );
  if (overlay !== undefined) {
    // Only reachable when the overlay ASN sits inside a range (validation refuses that).
    for (const [d, a] of Object.entries(asns)) {
      if (a === overlay) throw new FabricError('fabric.namespaces.overlayAsn', `fabric.namespaces.overlayAsn: ${overlay} lies inside an ASN range (allocated to ${d})`);
    }
  }

  // Links: a /31 per addressed link; values are /31 indexes (address / 2).
  const devs = deviceIndex(file);
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const l of file.links) {
    if (!isAddressedLink(l, devs)) continue;
    const k = linkKey(l);
    if (!seen.has(k)) { seen.add(k); keys.push(k); }
  }
  const p2p = poolOf(cidrs(ns.fabric).map((c) => ({ first: c.base / 2, count: Math.floor(c.size / 2) })));
  const links = allocateOver<string>(
    keys, existing.links ?? {}, p2p,
    (t) => {
      const r = parseCidr(t);
      return r.ok && r.cidr.prefix === 31 ? r.cidr.base / 2 : undefined;
    },
    (n) => `${formatIp(n * 2)}/31`,
    (needed) => new FabricError('fabric.namespaces.fabric',
      `fabric.namespaces.fabric: pool exhausted: ${poolText(ns.fabric)} holds ${p2p.size} /31 subnets, ${needed} addressed links need one each`),
  );

  // ESI indexes are written by the services' commit; a record that has them keeps them current
  // here (and one without them, e.g. an offline render, compiles them from file order).
  return { loopbacks, asns, links, ...(existing.esis ? { esis: allocateEsis(file, existing.esis) } : {}) };
}

/** VPGs whose ports span two or more devices: each is one Ethernet segment. */
export function multihomedVpgs(file: FabricFile): string[] {
  return (file.vpgs ?? []).filter((v) => new Set(v.ports.map((p) => p.device)).size > 1).map((v) => v.name);
}

/**
 * Stable ESI indexes: a multihomed VPG keeps the index it has; a new one takes the lowest free
 * index; a VPG that is gone (or no longer multihomed) frees its index. Pure; the store runs it
 * inside the services' transaction.
 */
export function allocateEsis(file: FabricFile, existing: Record<string, number> = {}): Record<string, number> {
  const owners = multihomedVpgs(file);
  const used = new Set<number>();
  const out: Record<string, number> = {};
  for (const o of owners) {
    if (!Object.hasOwn(existing, o)) continue;
    const v = existing[o];
    if (Number.isInteger(v) && v >= 1 && v <= 0xffff && !used.has(v)) { used.add(v); out[o] = v; }
  }
  let next = 1;
  for (const o of owners) {
    if (Object.hasOwn(out, o)) continue;
    while (used.has(next)) next++;
    if (next > 0xffff) throw new FabricError('vpgs', `vpgs: ${owners.length} multihomed VPGs, but an ESI index holds 65535`);
    used.add(next);
    out[o] = next;
  }
  // file order, so the stored record does not depend on allocation history
  return Object.fromEntries(owners.map((o) => [o, out[o]]));
}
