// Key names of the store's layout (docs/store.md, "Key layout"). One place, so the aggregates,
// the schema migration and the backup agree on them.

/** Per-fabric keys `<prefix>f:{f}:<part>` (config history adds `cfg:{deviceId}`). */
export const FABRIC_PARTS = [
  'secret', 'services', 'devices', 'serials', 'ports', 'hostkeys', 'links', 'alloc', 'needs',
  'events', 'intended', 'ver', 'iver', 'dver', 'dchg', 'dfloor', 'removed', 'drift',
] as const;
export type FabricPart = typeof FABRIC_PARTS[number];

/** What deleteFabric and createFabric clear: the inventory (events, counters and change log stay). */
export const INVENTORY_PARTS: readonly FabricPart[] = ['devices', 'serials', 'links', 'ports', 'hostkeys', 'needs', 'alloc', 'services', 'secret', 'removed', 'drift'];

/** Counters and the device change log: they never restart (a stale snapshot or cache never matches). */
export const COUNTER_PARTS: readonly FabricPart[] = ['ver', 'iver', 'dver', 'dchg', 'dfloor'];

export class StoreKeys {
  constructor(readonly prefix: string) {}
  fabric(f: string, part: FabricPart | `cfg:${string}`): string { return `${this.prefix}f:${f}:${part}`; }
  get fabrics(): string { return `${this.prefix}fabrics`; }
  lock(f: string): string { return `${this.prefix}lock:${f}`; }
  cfg(f: string, deviceId: string): string { return this.fabric(f, `cfg:${deviceId}`); }
  op(id: string): string { return `${this.prefix}op:${id}`; }
  /** The layout's version (schema.ts). */
  get schema(): string { return `${this.prefix}schema`; }
}
