// Overlay services of a fabric (virtual networks, logical routers, servers, VPGs): one JSON
// record, changed only inside a version-checked commit after the whole fabric was validated
// with the change. The multihomed VPGs' ESI indexes are allocated in the same commit, so a VPG
// keeps its Ethernet segment for as long as it exists.
import type { Allocations, FabricFile } from '../domain/types';
import type { Actor, FabricServices } from './types';
import type { StoreCore } from './core';
import { emptyServices, fileOf, sameJson, type Snapshot } from './model';
import { esisFor } from './domain';
import type { Tx } from './core';

export class ServiceStore {
  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  getServices(f: string): Promise<FabricServices> {
    return this.core.fabricJson<FabricServices>(f, 'services', emptyServices);
  }

  /**
   * Read-modify-write of the overlay services in one optimistic transaction: `change` gets the
   * services as stored and returns the next ones (or throws: nothing is written). The whole
   * fabric is validated with them; `touched` (pure) names the devices whose intent changed.
   */
  async changeServices<T>(f: string, change: (cur: FabricServices) => { next: FabricServices; result: T },
    ctx: Actor = {}, touched?: (before: FabricFile, after: FabricFile, allocations: Allocations) => string[]): Promise<{ result: T; devices: string[] }> {
    return this.core.mutate(f, 'changeServices', (s, tx) => {
      this.core.need(s, f);
      const { next, result } = change(structuredClone(s.services));
      const after = fileOf({ ...s, services: next });
      this.core.validateFile(after);
      if (sameJson(next, s.services)) return { result, devices: [] };
      const devices = touched ? touched(fileOf(s), after, s.alloc) : [];
      tx.op('SET', this.k.fabric(f, 'services'), JSON.stringify(next));
      this.writeEsis(s, after, tx, f);
      this.core.event(tx, f, {
        actor: ctx.actor, action: 'services.updated', object: `fabric/${f}`,
        details: {
          virtualNetworks: next.virtualNetworks.length, logicalRouters: next.logicalRouters.length,
          servers: next.servers.length, vpgs: next.vpgs.length, externalNetworks: next.externalNetworks?.length ?? 0, devices,
        },
      });
      return { result, devices };
    });
  }

  /** Replaces the overlay services (VNs, LRs, servers, VPGs) after validating the whole fabric with them. */
  async setServices(f: string, services: FabricServices, ctx: Actor = {}): Promise<void> {
    await this.core.mutate(f, 'setServices', (s, tx) => {
      this.core.need(s, f);
      const after = fileOf({ ...s, services });
      this.core.validateFile(after);
      tx.op('SET', this.k.fabric(f, 'services'), JSON.stringify(services));
      this.writeEsis(s, after, tx, f);
      this.core.event(tx, f, {
        actor: ctx.actor, action: 'services.updated', object: `fabric/${f}`,
        details: {
          virtualNetworks: services.virtualNetworks.length, logicalRouters: services.logicalRouters.length,
          servers: services.servers.length, vpgs: services.vpgs.length,
        },
      });
    });
  }

  /** The ESI indexes for `after` into the allocations record, when they changed. */
  private writeEsis(s: Snapshot, after: ReturnType<typeof fileOf>, tx: Tx, f: string): void {
    const esis = esisFor(after, s.alloc);
    if (sameJson(esis, s.alloc.esis ?? {})) return;
    tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify({ ...s.alloc, esis }));
  }
}
