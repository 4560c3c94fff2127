// Allocations: loopbacks, ASNs and link /31s of a fabric, one JSON record written only inside a
// version-checked commit, so any number of processes allocating at once never hand out an
// address or ASN twice. The store refuses a result of the pure allocator that duplicates or
// renumbers anything before it reaches Redis.
import type { Allocations } from '../domain/types';
import type { Actor } from './types';
import { conflict, invalid } from './errors';
import { emptyAllocations } from './domain';
import { duplicateAllocation, orphanedAllocation, sameAllocations } from './checks';
import type { StoreCore, Tx } from './core';
import { fileOf, sameJson, type Snapshot } from './model';
import { widenNamespaces } from '../intent/widen';

export class AllocationStore {
  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  getAllocations(f: string): Promise<Allocations> {
    return this.core.fabricJson<Allocations>(f, 'alloc', emptyAllocations);
  }

  /** Allocates over the snapshot into `tx` (also used by addDevices' `allocate: true`). */
  write(s: Snapshot, tx: Tx, f: string, ctx: Actor): Allocations {
    // Every device gets a loopback and an ASN (also discovered ones without a role yet, so a
    // brownfield import is kept); /31s go to links among devices with a role (addressing
    // depends on the physical roles). Placeholders only reach allocate(), never Redis.
    const file = fileOf(s);
    const inFile = new Set(file.devices.map((d) => d.name));
    for (const d of s.devices.values()) {
      if (!inFile.has(d.name)) file.devices.push({ name: d.name, profile: d.profile ?? 'unknown', physicalRole: d.physicalRole ?? 'leaf', roles: [] });
    }
    const next = this.core.allocate(file, s.alloc);
    // Never hand out twice, never renumber: a defect in the pure function must not reach Redis.
    const dup = duplicateAllocation(next);
    if (dup) throw new Error(`allocation refused: ${dup}`);
    for (const [d, ip] of Object.entries(s.alloc.loopbacks)) if (Object.hasOwn(next.loopbacks, d) && next.loopbacks[d] !== ip) throw new Error(`allocation refused: would renumber loopback of ${d}`);
    for (const [d, a] of Object.entries(s.alloc.asns)) if (Object.hasOwn(next.asns, d) && next.asns[d] !== a) throw new Error(`allocation refused: would renumber ASN of ${d}`);
    for (const [k, c] of Object.entries(s.alloc.links)) if (Object.hasOwn(next.links, k) && next.links[k] !== c) throw new Error(`allocation refused: would renumber link ${k}`);
    if (sameAllocations(next, s.alloc)) return next;
    tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(next));
    const count = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(a).filter((k) => !Object.hasOwn(b, k)).length;
    this.core.event(tx, f, {
      actor: ctx.actor, action: 'allocations.updated', object: `fabric/${f}`,
      details: {
        loopbacks: count(next.loopbacks, s.alloc.loopbacks), asns: count(next.asns, s.alloc.asns),
        links: count(next.links, s.alloc.links),
      },
    });
    return next;
  }

  /**
   * Runs the pure allocate() over the current inventory and writes the result atomically:
   * safe with any number of processes allocating at once (optimistic, version-checked commit).
   */
  async allocateFabric(f: string, ctx: Actor = {}): Promise<Allocations> {
    return this.core.mutate(f, 'allocateFabric', (s, tx) => {
      this.core.need(s, f);
      return this.write(s, tx, f, ctx);
    });
  }

  /**
   * Brownfield import: merges existing addresses/ASNs into the record. Refused when an entry
   * names an unknown device/link, falls outside the pools, or duplicates another holder.
   */
  async importAllocations(f: string, imp: Partial<Allocations>, ctx: Actor = {}, opts: { widenPools?: boolean; brownfield?: { manageUnderlay: boolean } } = {}): Promise<Allocations> {
    return this.core.mutate(f, 'importAllocations', (s, tx) => {
      let fab = this.core.need(s, f);
      const next: Allocations = {
        loopbacks: { ...s.alloc.loopbacks, ...(imp.loopbacks ?? {}) },
        asns: { ...s.alloc.asns, ...(imp.asns ?? {}) },
        links: { ...s.alloc.links, ...(imp.links ?? {}) },
        // ESI indexes come only with their VPGs (services): an import keeps them as they are
        ...(s.alloc.esis ? { esis: s.alloc.esis } : {}),
      };
      for (const d of [...Object.keys(imp.loopbacks ?? {}), ...Object.keys(imp.asns ?? {})]) {
        if (!s.devices.has(d)) throw invalid(`allocations: no device ${d} in fabric ${f}`, `allocations.${d}`);
      }
      for (const k of Object.keys(imp.links ?? {})) if (!s.links.has(k)) throw invalid(`allocations.links: no link ${k} in fabric ${f}`, `allocations.links`);
      const dup = duplicateAllocation(next);
      if (dup) throw conflict(`allocations: ${dup}`, 'allocations');
      const before = fab;
      if (opts.widenPools) {
        // brownfield adoptOutsidePools: the namespaces take the adopted values outside them
        const namespaces = widenNamespaces(fab.namespaces, next);
        for (const k of ['loopback', 'fabric', 'asn'] as const) {
          if (namespaces[k].length > 64) throw invalid(`allocations: adopting the running values outside namespaces.${k} would need ${namespaces[k].length} entries (at most 64); widen namespaces.${k} instead`, `namespaces.${k}`);
        }
        if (!sameJson(namespaces, fab.namespaces)) fab = { ...fab, namespaces };
      }
      // an adopted fabric (settings.brownfield: the overlay in the running ASNs), in the same write
      if (opts.brownfield && !sameJson(fab.settings.brownfield, opts.brownfield)) fab = { ...fab, settings: { ...fab.settings, brownfield: { ...opts.brownfield } } };
      if (fab !== before) tx.op('HSET', this.k.fabrics, f, JSON.stringify(fab));
      const o = orphanedAllocation(fab.namespaces, next);
      if (o) throw invalid(o.message.replace(/would fall/, 'falls').replace(/^namespaces\.\w+: /, 'allocations: '), 'allocations');
      if (sameJson(next, s.alloc) && fab === before) return next;
      tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(next));
      this.core.event(tx, f, {
        actor: ctx.actor, action: 'allocations.imported', object: `fabric/${f}`,
        details: { loopbacks: Object.keys(imp.loopbacks ?? {}).length, asns: Object.keys(imp.asns ?? {}).length, links: Object.keys(imp.links ?? {}).length },
      });
      return next;
    });
  }
}
