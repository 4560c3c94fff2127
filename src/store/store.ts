// The service's persistent store on Redis (ioredis): a thin facade over one aggregate per
// concern, so callers keep one object and one set of method names. Key layout and the
// consistency model: docs/store.md; the transaction machinery: core.ts.
//
//   core.ts                    snapshot, Lua commit, optimistic retries (mutate, mutateFine)
//   inventory/fabrics.ts       fabric records, secrets, consistent inventory reads
//   inventory/devices.ts       devices, ports, roles, renames, needsConfig markers
//   inventory/device-list.ts   the device list and its per-process cache
//   inventory/links.ts         links
//   allocations.ts             loopbacks, ASNs, /31s
//   services.ts                virtual networks, logical routers, servers, VPGs
//   events.ts                  the event stream (audit trail)
//   history.ts                 config history, intended-config cache
//   hostkeys.ts                NETCONF host keys (TOFU)
//   locks.ts                   the fabric lock
//   schema.ts                  the layout's version and its migrations (run by openStore)
//   backup.ts                  the whole store as one versioned file, and back
import type Redis from 'ioredis';
import type { Allocations, FabricFile, PhysicalRole } from '../domain/types';
import type {
  Actor, ConfigCommit, DeviceDetail, DevicePatch, DeviceRecord, DiscoveredDevice, EventRecord, FabricRecord,
  FabricSecrets, FabricServices, FabricUpdate, HostKeyStore, IntendedConfig, Inventory, LinkInput, LinkRecord,
  LockResult, NewDevice, NewEvent, PortRecord, RemovedDevice, ReplaceLinksResult,
} from './types';
import { parseRemoved } from './model';
import { StoreCore, type StoreHooks, type StoreOptions } from './core';
import { Fabrics } from './inventory/fabrics';
import { DeviceStore } from './inventory/devices';
import { DeviceList } from './inventory/device-list';
import { LinkStore } from './inventory/links';
import { AllocationStore } from './allocations';
import { ServiceStore } from './services';
import { HistoryStore } from './history';
import { EventStore } from './events';
import { HostKeys } from './hostkeys';
import { FabricLocks } from './locks';
import { makeBackup, restoreBackup, type BackupFile, type RestoreResult } from './backup';

export type { StoreHooks, StoreOptions };

export class Store {
  readonly prefix: string;
  /** Optimistic commits done and version conflicts retried (by this instance). */
  readonly stats: { commits: number; conflicts: number };
  private readonly core: StoreCore;
  private readonly fabrics: Fabrics;
  private readonly devices: DeviceStore;
  private readonly deviceList: DeviceList;
  private readonly links: LinkStore;
  private readonly allocations: AllocationStore;
  private readonly services: ServiceStore;
  private readonly history: HistoryStore;
  private readonly events: EventStore;
  private readonly hostKeys: HostKeys;
  private readonly locks: FabricLocks;

  constructor(readonly redis: Redis, opts: StoreOptions) {
    if (!Buffer.isBuffer(opts.secretKey) || opts.secretKey.length !== 32) throw new Error('Store: secretKey must be 32 bytes');
    const { secretKey, ...rest } = opts;
    this.core = new StoreCore(redis, secretKey, rest);
    this.prefix = this.core.keys.prefix;
    this.stats = this.core.stats;
    this.fabrics = new Fabrics(this.core);
    this.allocations = new AllocationStore(this.core);
    this.devices = new DeviceStore(this.core, this.allocations);
    this.deviceList = new DeviceList(this.core);
    this.links = new LinkStore(this.core);
    this.services = new ServiceStore(this.core);
    this.history = new HistoryStore(this.core);
    this.events = new EventStore(this.core);
    this.hostKeys = new HostKeys(this.core);
    this.locks = new FabricLocks(this.core);
  }

  /** true when Redis answers PING within `timeoutMs` (never hangs across a reconnect). */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    try {
      const res = await Promise.race([
        this.redis.ping(),
        new Promise<string>((resolve) => { t = setTimeout(() => resolve('timeout'), timeoutMs); }),
      ]);
      return res === 'PONG';
    } catch {
      return false;
    } finally {
      if (t) clearTimeout(t);
    }
  }

  // ----------------------------------------------------------------------------- fabrics
  /** Parsed and validated by the domain (FabricError with a path), secrets encrypted, nothing allocated. */
  createFabric(input: FabricFile | object | string, ctx: Actor = {}): Promise<FabricRecord> { return this.fabrics.createFabric(input, ctx); }
  getFabric(f: string): Promise<FabricRecord | null> { return this.fabrics.getFabric(f); }
  listFabrics(): Promise<FabricRecord[]> { return this.fabrics.listFabrics(); }
  /** Refused (conflict, nothing written) when the new namespaces would orphan an allocation. */
  updateFabric(f: string, upd: FabricUpdate, ctx: Actor = {}): Promise<FabricRecord> { return this.fabrics.updateFabric(f, upd, ctx); }
  /** Refused (locked, with the job id) while a fabric job holds the lock. */
  deleteFabric(f: string, ctx: Actor = {}): Promise<void> { return this.fabrics.deleteFabric(f, ctx); }
  /** Decrypted credentials and SNMP settings, for the jobs that talk to devices. Never log or return them. */
  getFabricSecrets(f: string): Promise<FabricSecrets> { return this.fabrics.getFabricSecrets(f); }
  /** Fabric, devices, links (with subnets), allocations and services in one consistent read. */
  getInventory(f: string): Promise<Inventory> { return this.fabrics.getInventory(f); }
  /** The inventory as a fabric file for intent (credentials redacted), plus the allocation record. */
  getFabricFile(f: string): Promise<{ file: FabricFile; allocations: Allocations; version: number }> { return this.fabrics.getFabricFile(f); }

  // ----------------------------------------------------------------------------- services
  getServices(f: string): Promise<FabricServices> { return this.services.getServices(f); }
  /** Read-modify-write of the overlay services in one optimistic transaction (services.ts). */
  changeServices<T>(f: string, change: (cur: FabricServices) => { next: FabricServices; result: T },
    ctx: Actor = {}, touched?: (before: FabricFile, after: FabricFile, allocations: Allocations) => string[]): Promise<{ result: T; devices: string[] }> {
    return this.services.changeServices(f, change, ctx, touched);
  }
  setServices(f: string, services: FabricServices, ctx: Actor = {}): Promise<void> { return this.services.setServices(f, services, ctx); }

  // ----------------------------------------------------------------------------- devices
  /** All devices, sorted by name; frozen records shared between callers (copy before changing one). */
  listDevices(f: string): Promise<DeviceRecord[]> { return this.deviceList.listDevices(f); }
  listDevicesRaw(f: string): Promise<string[]> { return this.deviceList.listDevicesRaw(f); }
  /** The whole device list as one JSON array text (built once per change). */
  listDevicesJson(f: string): Promise<string> { return this.deviceList.listDevicesJson(f); }
  getDeviceBySerial(f: string, serial: string): Promise<DeviceDetail | null> { return this.devices.getDeviceBySerial(f, serial); }
  getDevice(f: string, d: string): Promise<DeviceDetail | null> { return this.devices.getDevice(f, d); }
  /** With `allocate: true` its loopback and ASN are allocated in the same atomic write. */
  addDevice(f: string, input: NewDevice, opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord> { return this.devices.addDevice(f, input, opts, ctx); }
  /** Many devices in one atomic write (all or none); paths name the failing index. */
  addDevices(f: string, inputs: NewDevice[], opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord[]> { return this.devices.addDevices(f, inputs, opts, ctx); }
  /** Discovery's upsert by serial. */
  upsertDiscoveredDevice(f: string, disc: DiscoveredDevice, ctx: Actor = {}): Promise<{ device: DeviceRecord; created: boolean }> { return this.devices.upsertDiscoveredDevice(f, disc, ctx); }
  updateDevice(f: string, d: string, patch: DevicePatch, ctx: Actor = {}): Promise<DeviceRecord> { return this.devices.updateDevice(f, d, patch, ctx); }
  /** Renames a device everywhere in one atomic write (a patch given with it lands in the same write). */
  renameDevice(f: string, d: string, newName: string, ctx: Actor = {}, patch: DevicePatch = {}): Promise<DeviceRecord> { return this.devices.renameDevice(f, d, newName, ctx, patch); }
  setDeviceRoles(f: string, d: string, roles: { physicalRole: PhysicalRole; roles: string[] }, ctx: Actor = {}): Promise<DeviceRecord> { return this.devices.setDeviceRoles(f, d, roles, ctx); }
  deleteDevice(f: string, d: string, ctx: Actor = {}, opts: { keepHistory?: boolean; jobId?: string } = {}): Promise<void> { return this.devices.deleteDevice(f, d, ctx, opts); }
  /** A device removed with its history kept (the remove-device job), or null. */
  async getRemovedDevice(f: string, d: string): Promise<RemovedDevice | null> {
    return parseRemoved(await this.redis.hget(`${this.prefix}f:${f}:removed`, d));
  }
  setPorts(f: string, d: string, ports: PortRecord[], ctx: Actor = {}): Promise<void> { return this.devices.setPorts(f, d, ports, ctx); }
  listNeedsConfig(f: string): Promise<string[]> { return this.devices.listNeedsConfig(f); }
  markNeedsConfig(f: string, devices: string[]): Promise<void> { return this.devices.markNeedsConfig(f, devices); }
  clearNeedsConfig(f: string, devices: string[]): Promise<void> { return this.devices.clearNeedsConfig(f, devices); }

  // ----------------------------------------------------------------------------- host keys, links, allocations
  /** Trust-on-first-use store for the NETCONF client; deviceId = device name in fabric `f`. */
  hostKeyStore(f: string, ctx: Actor = {}): HostKeyStore { return this.hostKeys.forFabric(f, ctx); }
  listLinks(f: string): Promise<LinkRecord[]> { return this.links.listLinks(f); }
  addLinks(f: string, links: LinkInput[], ctx: Actor = {}): Promise<LinkRecord[]> { return this.links.addLinks(f, links, ctx); }
  replaceLinks(f: string, links: LinkInput[] | ((cur: LinkInput[]) => LinkInput[]), ctx: Actor = {}): Promise<ReplaceLinksResult> { return this.links.replaceLinks(f, links, ctx); }
  getAllocations(f: string): Promise<Allocations> { return this.allocations.getAllocations(f); }
  /** The pure allocate() over the current inventory, written atomically (any number of processes at once). */
  allocateFabric(f: string, ctx: Actor = {}): Promise<Allocations> { return this.allocations.allocateFabric(f, ctx); }
  importAllocations(f: string, imp: Partial<Allocations>, ctx: Actor = {}, opts: { widenPools?: boolean; brownfield?: { manageUnderlay: boolean } } = {}): Promise<Allocations> { return this.allocations.importAllocations(f, imp, ctx, opts); }

  // ----------------------------------------------------------------------------- fabric lock
  acquireFabricLock(f: string, jobId: string, ttlMs: number): Promise<LockResult> { return this.locks.acquireFabricLock(f, jobId, ttlMs); }
  refreshFabricLock(f: string, jobId: string, ttlMs: number): Promise<boolean> { return this.locks.refreshFabricLock(f, jobId, ttlMs); }
  releaseFabricLock(f: string, jobId: string): Promise<boolean> { return this.locks.releaseFabricLock(f, jobId); }
  getFabricLock(f: string): Promise<string | null> { return this.locks.getFabricLock(f); }

  // ----------------------------------------------------------------------------- history
  appendEvent(f: string, ev: NewEvent): Promise<string> { return this.events.appendEvent(f, ev); }
  listEvents(f: string, opts: { since?: string; limit?: number } = {}): Promise<{ items: EventRecord[]; next?: string }> { return this.events.listEvents(f, opts); }
  addConfigCommit(f: string, d: string, c: Omit<ConfigCommit, 'at'> & { at?: string }): Promise<void> { return this.history.addConfigCommit(f, d, c); }
  listConfigCommits(f: string, d: string, opts: { limit?: number; withRemoved?: boolean } = {}): Promise<ConfigCommit[]> { return this.history.listConfigCommits(f, d, opts); }
  recordDrift(f: string, answers: [device: string, drifted: boolean][]): Promise<void> { return this.history.recordDrift(f, answers); }
  listDrifted(f: string): Promise<Set<string>> { return this.history.listDrifted(f); }
  getIntendedConfig(f: string, d: string): Promise<IntendedConfig | null> { return this.history.getIntendedConfig(f, d); }
  setIntendedConfig(f: string, d: string, cfg: IntendedConfig, version: number): Promise<boolean> { return this.history.setIntendedConfig(f, d, cfg, version); }

  // ----------------------------------------------------------------------------- backup and restore
  /** The whole store as one versioned file, read atomically (secrets stay encrypted; no key in it). */
  backup(): Promise<BackupFile> { return makeBackup(this.core); }
  /** Writes a backup file into this store (refused over a non-empty store unless `force`). */
  restore(file: unknown, opts: { force?: boolean } = {}): Promise<RestoreResult> { return restoreBackup(this.core, file, opts); }
}
