// Devices of a fabric: planned (fabric file, API) and discovered (upsert by serial), their
// facts, states, roles and ports, renames and deletes, and the needsConfig markers. Writes that
// change what intent compiles are snapshot commits; the hot per-device fact and state writes
// are field-level commits (core.mutateFine), so writes to different devices never collide.
import type { Allocations, LinkEnd, PhysicalRole } from '../../domain/types';
import { linkKey, PHYSICAL_ROLES } from '../../domain/types';
import type {
  Actor, DeviceDetail, DevicePatch, DeviceRecord, DiscoveredDevice, FabricRecord, FabricServices, LinkInput, NewDevice, PortRecord, RemovedDevice,
} from '../types';
import { ONBOARDING_STATES } from '../types';
import { conflict, invalid, notFound, StoreError } from '../errors';
import type { StoreCore, Tx } from '../core';
import { execValues } from '../core';
import type { AllocationStore } from '../allocations';
import {
  checkManagementIp, checkName, checkStates, fileOf, intentOf, newDeviceRecord, now, parseRemoved, REMOVED_CHAIN, sameJson, specOf, type Snapshot,
} from '../model';

export class DeviceStore {
  constructor(private readonly core: StoreCore, private readonly allocations: AllocationStore) {}

  private get k() { return this.core.keys; }

  private writeDevice(tx: Tx, f: string, d: DeviceRecord): void {
    tx.op('HSET', this.k.fabric(f, 'devices'), d.name, JSON.stringify(d));
  }

  /** The device a serial belongs to (discovery, ZTP), or null. Two small round trips. */
  async getDeviceBySerial(f: string, serial: string): Promise<DeviceDetail | null> {
    const name = await this.core.redis.hget(this.k.fabric(f, 'serials'), serial);
    return name ? this.getDevice(f, name) : null;
  }

  async getDevice(f: string, d: string): Promise<DeviceDetail | null> {
    const res = await execValues(this.core.redis.pipeline()
      .hget(this.k.fabric(f, 'devices'), d)
      .hget(this.k.fabric(f, 'ports'), d)
      .hget(this.k.fabric(f, 'hostkeys'), d)
      .sismember(this.k.fabric(f, 'needs'), d));
    if (!res[0]) return null;
    const dev = JSON.parse(res[0] as string) as DeviceRecord;
    return {
      ...dev,
      ports: res[1] ? JSON.parse(res[1] as string) as PortRecord[] : [],
      hostKey: (res[2] as string | null) ?? null,
      needsConfig: res[3] === 1,
    };
  }

  private validateDeviceSpec(s: Snapshot, dev: DeviceRecord, path: string): void {
    if (!specOf(dev)) return;
    const others = [...s.devices.values()].filter((d) => d.name !== dev.name);
    const file = fileOf(s, { links: false, devices: [...others, dev] });
    try {
      this.core.validateFile(file);
    } catch (e) {
      // Re-point the domain's path (devices[i]...) at the device being written.
      const err = e as Error & { path?: string };
      const i = file.devices.findIndex((x) => x.name === dev.name);
      if (err.path && err.path.startsWith(`devices[${i}]`)) {
        const rest = err.path.slice(`devices[${i}]`.length).replace(/^\./, '');
        const what = err.message.includes(': ') ? err.message.slice(err.message.indexOf(': ') + 2) : err.message;
        throw invalid(`${rest || path}: ${what}`, rest || path);
      }
      throw e;
    }
  }

  /**
   * Adds one device (profile/role checked against its node profile when given). With
   * `allocate: true` its loopback and ASN are allocated in the same atomic write, never
   * renumbering what exists.
   */
  async addDevice(f: string, input: NewDevice, opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord> {
    return (await this.addDevices(f, [input], opts, ctx))[0];
  }

  /** Adds many devices in one atomic write (all or none); paths name the failing index. */
  async addDevices(f: string, inputs: NewDevice[], opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord[]> {
    const many = inputs.length > 1;
    const at = (i: number, field: string) => (many ? `devices[${i}].${field}` : field);
    inputs.forEach((input, i) => {
      checkName('device', input?.name, at(i, 'name'));
      try { checkStates(input); } catch (e) { throw many ? invalid(`devices[${i}].${(e as Error).message}`, at(i, (e as StoreError).path ?? '')) : e; }
      if (input.physicalRole !== undefined && !PHYSICAL_ROLES.includes(input.physicalRole)) {
        throw invalid(`${at(i, 'physicalRole')}: "${input.physicalRole}" is not one of ${PHYSICAL_ROLES.join(', ')}`, at(i, 'physicalRole'));
      }
    });
    return this.core.mutate(f, 'addDevices', (s, tx) => {
      const fab = this.core.need(s, f);
      inputs.forEach((input, i) => checkManagementIp(fab, input.managementIp, at(i, 'managementIp')));
      const t = now();
      const names = new Set<string>();
      const serials = new Set<string>();
      const out = inputs.map((input, i) => {
        if (s.devices.has(input.name) || names.has(input.name)) throw conflict(`${at(i, 'name')}: device ${input.name} already exists in fabric ${f}`, at(i, 'name'));
        if (input.serial && (s.serials.has(input.serial) || serials.has(input.serial))) {
          throw conflict(`${at(i, 'serial')}: serial ${input.serial} already belongs to device ${s.serials.get(input.serial) ?? inputs.find((x) => x.serial === input.serial)!.name}`, at(i, 'serial'));
        }
        names.add(input.name);
        if (input.serial) serials.add(input.serial);
        return newDeviceRecord(input, t);
      });
      // One validation over the fabric with all new devices (roles@physical and profiles).
      for (const dev of out) s.devices.set(dev.name, dev);
      if (out.some((d) => specOf(d))) {
        try {
          this.core.validateFile(fileOf(s, { links: false }));
        } catch (e) {
          const err = e as Error & { path?: string };
          const m = err.path ? /^devices\[(\d+)\](.*)$/.exec(err.path) : null;
          const file = fileOf(s, { links: false });
          const name = m ? file.devices[Number(m[1])]?.name : undefined;
          const i = name ? inputs.findIndex((x) => x.name === name) : -1;
          if (m && i >= 0) {
            const rest = m[2].replace(/^\./, '');
            const what = err.message.includes(': ') ? err.message.slice(err.message.indexOf(': ') + 2) : err.message;
            const p = many ? `devices[${i}]${rest ? `.${rest}` : ''}` : rest || 'device';
            throw invalid(`${p}: ${what}`, p);
          }
          throw e;
        }
      }
      tx.hsetMany(this.k.fabric(f, 'devices'), out.map((d) => [d.name, JSON.stringify(d)]));
      const idx = out.filter((d) => d.serial).map((d): [string, string] => [d.serial!, d.name]);
      tx.hsetMany(this.k.fabric(f, 'serials'), idx);
      if (opts.allocate) this.allocations.write(s, tx, f, ctx);
      if (out.length === 1) {
        this.core.event(tx, f, { actor: ctx.actor, action: 'device.added', object: `device/${out[0].name}`, details: { serial: out[0].serial, profile: out[0].profile } });
      } else {
        this.core.event(tx, f, { actor: ctx.actor, action: 'devices.added', object: `fabric/${f}`, details: { devices: out.map((d) => d.name) } });
      }
      return out;
    });
  }

  /**
   * Discovery's upsert: the device whose serial matches takes the facts (and keeps its name,
   * profile and roles); an unknown serial becomes a new device named after its serial.
   */
  async upsertDiscoveredDevice(f: string, disc: DiscoveredDevice, ctx: Actor = {}): Promise<{ device: DeviceRecord; created: boolean }> {
    if (typeof disc.serial !== 'string' || disc.serial.length === 0) throw invalid('serial: required', 'serial');
    checkStates(disc);
    return this.core.mutateFine(f, 'upsertDiscoveredDevice', async (read, tx) => {
      const [fab, indexed] = await read([[this.k.fabrics, f], [this.k.fabric(f, 'serials'), disc.serial]]);
      if (!fab) throw notFound(`fabric ${f}`);
      checkManagementIp(JSON.parse(fab) as FabricRecord, disc.managementIp, 'managementIp');
      const name = indexed ?? checkName('device', disc.serial, 'serial');
      const [curJson, portsJson] = await read([[this.k.fabric(f, 'devices'), name], [this.k.fabric(f, 'ports'), name]]);
      const cur = curJson ? JSON.parse(curJson) as DeviceRecord : undefined;
      const at = now();
      let dev: DeviceRecord;
      let created = false;
      if (indexed && cur) {
        dev = {
          ...cur,
          model: disc.model ?? cur.model,
          profile: cur.profile ?? disc.profile ?? null,
          managementIp: disc.managementIp ?? cur.managementIp,
          osVersion: disc.osVersion ?? cur.osVersion,
          hostname: disc.hostname ?? cur.hostname,
          managedState: disc.managedState ?? cur.managedState,
          onboardingState: disc.onboardingState ?? cur.onboardingState ?? 'discovered',
          updatedAt: at,
        };
      } else {
        if (cur) throw conflict(`a device named ${name} (another serial) already exists in fabric ${f}`, 'serial');
        dev = newDeviceRecord({
          name, serial: disc.serial, model: disc.model, profile: disc.profile,
          managementIp: disc.managementIp, osVersion: disc.osVersion, hostname: disc.hostname,
          managedState: disc.managedState, onboardingState: disc.onboardingState ?? 'discovered',
        }, at);
        tx.op('HSET', this.k.fabric(f, 'serials'), disc.serial, dev.name);
        created = true;
      }
      const oldPorts = portsJson ? JSON.parse(portsJson) as PortRecord[] : [];
      const portsChanged = disc.ports !== undefined && !sameJson(disc.ports, oldPorts);
      if (!created && cur && sameJson({ ...cur, updatedAt: '' }, { ...dev, updatedAt: '' }) && !portsChanged) {
        return { device: cur, created };
      }
      // Intent sees a device only with profile and physical role: facts alone do not move it.
      tx.inventory = !sameJson(intentOf(cur), intentOf(dev));
      this.writeDevice(tx, f, dev);
      if (portsChanged) tx.op('HSET', this.k.fabric(f, 'ports'), dev.name, JSON.stringify(disc.ports));
      this.core.event(tx, f, {
        actor: ctx.actor ?? 'discovery', action: created ? 'device.discovered' : 'device.updated', object: `device/${dev.name}`,
        details: { serial: disc.serial, managementIp: dev.managementIp, model: dev.model },
      });
      return { device: dev, created };
    });
  }

  /** Patches facts and states (not name: renameDevice; not roles: setDeviceRoles). */
  private checkPatch(patch: DevicePatch): void {
    checkStates(patch);
    const allowed = ['serial', 'model', 'profile', 'managementIp', 'osVersion', 'hostname', 'managedState', 'onboardingState'];
    for (const k of Object.keys(patch)) if (!allowed.includes(k)) throw invalid(`${k}: cannot be patched here (allowed: ${allowed.join(', ')})`, k);
  }

  async updateDevice(f: string, d: string, patch: DevicePatch, ctx: Actor = {}): Promise<DeviceRecord> {
    this.checkPatch(patch);
    if (patch.profile !== undefined) return this.updateDeviceProfile(f, d, patch, ctx);
    return this.core.mutateFine(f, 'updateDevice', async (read, tx) => {
      const [fab, curJson] = await read([[this.k.fabrics, f], [this.k.fabric(f, 'devices'), d]]);
      if (!fab) throw notFound(`fabric ${f}`);
      if (!curJson) throw notFound(`device ${d} in fabric ${f}`);
      checkManagementIp(JSON.parse(fab) as FabricRecord, patch.managementIp, 'managementIp');
      const cur = JSON.parse(curJson) as DeviceRecord;
      const dev: DeviceRecord = { ...cur, ...patch, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial) {
        if (patch.serial) {
          const [holder] = await read([[this.k.fabric(f, 'serials'), patch.serial]]);
          if (holder && holder !== d) throw conflict(`serial ${patch.serial} already belongs to device ${holder}`, 'serial');
          tx.op('HSET', this.k.fabric(f, 'serials'), patch.serial, d);
        }
        if (cur.serial) tx.op('HDEL', this.k.fabric(f, 'serials'), cur.serial);
      }
      this.finishDeviceUpdate(tx, f, cur, dev, patch, ctx);
      return dev;
    });
  }

  /** A profile change is validated against the whole fabric (roles@physical of the new profile). */
  private updateDeviceProfile(f: string, d: string, patch: DevicePatch, ctx: Actor): Promise<DeviceRecord> {
    return this.core.mutate(f, 'updateDevice', (s, tx) => {
      const cur = this.core.device(s, f, d);
      checkManagementIp(s.fabric!, patch.managementIp, 'managementIp');
      const dev: DeviceRecord = { ...cur, ...patch, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial) {
        if (patch.serial && s.serials.has(patch.serial) && s.serials.get(patch.serial) !== d) {
          throw conflict(`serial ${patch.serial} already belongs to device ${s.serials.get(patch.serial)}`, 'serial');
        }
        if (cur.serial) tx.op('HDEL', this.k.fabric(f, 'serials'), cur.serial);
        if (patch.serial) tx.op('HSET', this.k.fabric(f, 'serials'), patch.serial, d);
      }
      if (patch.profile !== cur.profile) this.validateDeviceSpec(s, dev, 'profile');
      this.finishDeviceUpdate(tx, f, cur, dev, patch, ctx);
      return dev;
    });
  }

  private finishDeviceUpdate(tx: Tx, f: string, cur: DeviceRecord, dev: DeviceRecord, patch: DevicePatch, ctx: Actor): void {
    // States and facts do not change the intended config; only what intent sees does.
    tx.inventory = !sameJson(intentOf(cur), intentOf(dev));
    this.writeDevice(tx, f, dev);
    // Only what changed goes into the history (values are facts, never secrets).
    const changed: Record<string, unknown> = {};
    for (const k of Object.keys(patch) as (keyof DevicePatch)[]) if (patch[k] !== cur[k]) changed[k] = patch[k];
    this.core.event(tx, f, { actor: ctx.actor, action: 'device.updated', object: `device/${cur.name}`, details: changed });
  }

  /**
   * Renames a device everywhere in one atomic write: device, serial index, ports, host key,
   * links (and their keys), allocations, servers/VPG references, needsConfig marker.
   */
  async renameDevice(f: string, d: string, newName: string, ctx: Actor = {}, patch: DevicePatch = {}): Promise<DeviceRecord> {
    checkName('device', newName, 'name');
    this.checkPatch(patch);
    return this.core.mutate(f, 'renameDevice', (s, tx) => {
      const cur = this.core.device(s, f, d);
      checkManagementIp(s.fabric!, patch.managementIp, 'managementIp');
      if (newName === d) return cur;
      if (s.devices.has(newName)) throw conflict(`device ${newName} already exists in fabric ${f}`, 'name');
      // A patch given with the rename lands in the same write (all or nothing).
      const dev: DeviceRecord = { ...cur, ...patch, name: newName, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial && patch.serial && s.serials.has(patch.serial)) {
        throw conflict(`serial ${patch.serial} already belongs to device ${s.serials.get(patch.serial)}`, 'serial');
      }
      if (patch.profile !== undefined && patch.profile !== cur.profile) this.validateDeviceSpec({ ...s, devices: new Map([...s.devices].filter(([n]) => n !== d)) }, dev, 'profile');
      if (patch.serial !== undefined && patch.serial !== cur.serial && cur.serial) tx.op('HDEL', this.k.fabric(f, 'serials'), cur.serial);
      const mv = (e: LinkEnd): LinkEnd => (e.device === d ? { device: newName, port: e.port } : e);
      tx.op('HDEL', this.k.fabric(f, 'devices'), d);
      this.writeDevice(tx, f, dev);
      if (dev.serial) tx.op('HSET', this.k.fabric(f, 'serials'), dev.serial, newName);
      const ports = s.ports.get(d);
      if (ports) { tx.op('HDEL', this.k.fabric(f, 'ports'), d); tx.op('HSET', this.k.fabric(f, 'ports'), newName, JSON.stringify(ports)); }
      const hk = s.hostKeys.get(d);
      // Host keys are pinned without a version bump: the rename re-checks the one it read.
      tx.fieldIs(this.k.fabric(f, 'hostkeys'), d, hk ?? null);
      if (hk) { tx.op('HDEL', this.k.fabric(f, 'hostkeys'), d); tx.op('HSET', this.k.fabric(f, 'hostkeys'), newName, hk); }
      if (s.needs.has(d)) { tx.op('SREM', this.k.fabric(f, 'needs'), d); tx.op('SADD', this.k.fabric(f, 'needs'), newName); }
      const alloc: Allocations = { loopbacks: { ...s.alloc.loopbacks }, asns: { ...s.alloc.asns }, links: { ...s.alloc.links } };
      if (Object.hasOwn(alloc.loopbacks, d)) { alloc.loopbacks[newName] = alloc.loopbacks[d]; delete alloc.loopbacks[d]; }
      if (Object.hasOwn(alloc.asns, d)) { alloc.asns[newName] = alloc.asns[d]; delete alloc.asns[d]; }
      for (const [k, l] of s.links) {
        if (l.a.device !== d && l.b.device !== d) continue;
        const nl: LinkInput = { ...l, a: mv(l.a), b: mv(l.b) };
        const nk = linkKey(nl);
        tx.op('HDEL', this.k.fabric(f, 'links'), k);
        tx.op('HSET', this.k.fabric(f, 'links'), nk, JSON.stringify(nl));
        if (Object.hasOwn(alloc.links, k)) { const sub = alloc.links[k]; delete alloc.links[k]; alloc.links[nk] = sub; }
      }
      tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(alloc));
      const sv = s.services;
      const services: FabricServices = {
        ...sv,
        servers: sv.servers.map((x) => ({ ...x, nics: x.nics.map((n) => (n.device === d ? { ...n, device: newName } : n)) })),
        vpgs: sv.vpgs.map((x) => ({ ...x, ports: x.ports.map(mv) })),
        ...(sv.externalNetworks ? { externalNetworks: sv.externalNetworks.map((x) => ({ ...x, gateways: x.gateways.map((g) => (g.device === d ? { ...g, device: newName } : g)) })) } : {}),
      };
      if (!sameJson(services, sv)) tx.op('SET', this.k.fabric(f, 'services'), JSON.stringify(services));
      this.core.event(tx, f, { actor: ctx.actor, action: 'device.renamed', object: `device/${newName}`, details: { from: d, to: newName, ...(Object.keys(patch).length ? { patched: Object.keys(patch) } : {}) } });
      return dev;
    }, d);
  }

  /** Sets physical and routing/bridging roles, checked against the device's node profile. */
  async setDeviceRoles(f: string, d: string, roles: { physicalRole: PhysicalRole; roles: string[] }, ctx: Actor = {}): Promise<DeviceRecord> {
    if (!PHYSICAL_ROLES.includes(roles.physicalRole)) {
      throw invalid(`physicalRole: "${String(roles.physicalRole)}" is not one of ${PHYSICAL_ROLES.join(', ')}`, 'physicalRole');
    }
    if (!Array.isArray(roles.roles) || roles.roles.some((r) => typeof r !== 'string')) throw invalid('roles: expected a list of role names', 'roles');
    return this.core.mutate(f, 'setDeviceRoles', (s, tx) => {
      const cur = this.core.device(s, f, d);
      if (!cur.profile) throw conflict(`device ${d} has no node profile yet (discover it first, or set its profile)`, 'profile');
      const dev: DeviceRecord = {
        ...cur, physicalRole: roles.physicalRole, roles: [...roles.roles], updatedAt: now(),
        onboardingState: cur.onboardingState && ONBOARDING_STATES.indexOf(cur.onboardingState) < ONBOARDING_STATES.indexOf('role_discovered')
          ? 'role_discovered' : cur.onboardingState,
      };
      this.validateDeviceSpec(s, dev, 'roles');
      if (cur.physicalRole === dev.physicalRole && sameJson(cur.roles, dev.roles)) return cur;
      // A tier change must not silently drop the routing of a cabled link (leaf made spine:
      // its spine links become same-tier and would lose their /31 and sessions).
      if (cur.physicalRole !== dev.physicalRole) {
        const lost = [...s.links.entries()].filter(([k, l]) => {
          if (l.anomaly || !Object.hasOwn(s.alloc.links, k)) return false;
          const peer = s.devices.get(l.a.device === d ? l.b.device : l.a.device);
          return (l.a.device === d || l.b.device === d) && !!peer?.physicalRole && peer.physicalRole === dev.physicalRole;
        }).map(([k]) => k);
        if (lost.length) {
          throw conflict(`physicalRole: ${d} as ${dev.physicalRole} would leave ${lost.length} addressed link${lost.length > 1 ? 's' : ''} between two ${dev.physicalRole}s unrouted: ${lost.join(', ')} (delete or recable them first)`, 'physicalRole');
        }
      }
      this.writeDevice(tx, f, dev);
      tx.op('SADD', this.k.fabric(f, 'needs'), d);
      this.core.event(tx, f, {
        actor: ctx.actor, action: 'device.roles', object: `device/${d}`,
        details: { physicalRole: dev.physicalRole, roles: dev.roles, was: { physicalRole: cur.physicalRole, roles: cur.roles } },
      });
      return dev;
    });
  }

  /**
   * Deletes a device, its links (peers marked needsConfig), its allocations, ports, host key
   * and config history. Refused while a server NIC or VPG port uses it.
   */
  /**
   * Deletes a device, frees its loopback, ASN and link addresses and marks its peers.
   * `keepHistory` (the remove-device job): its config history stays readable under its name
   * (the record goes to the `removed` hash, newest removal wins) instead of being deleted.
   */
  async deleteDevice(f: string, d: string, ctx: Actor = {}, opts: { keepHistory?: boolean; jobId?: string } = {}): Promise<void> {
    // An earlier device removed under the same name: its history is chained, not orphaned.
    const readRemoved = async () => parseRemoved(await this.core.redis.hget(this.k.fabric(f, 'removed'), d));
    await this.core.mutate(f, 'deleteDevice', (s, tx, prev) => {
      const cur = this.core.device(s, f, d);
      const srv = s.services.servers.find((x) => x.nics.some((n) => n.device === d));
      if (srv) throw conflict(`device ${d} is used by server ${srv.name}`, 'servers');
      const vpg = s.services.vpgs.find((x) => x.ports.some((p) => p.device === d));
      if (vpg) throw conflict(`device ${d} is used by VPG ${vpg.name}`, 'vpgs');
      const ext = (s.services.externalNetworks ?? []).find((x) => x.gateways.some((g) => g.device === d));
      if (ext) throw conflict(`device ${d} is a gateway of external network ${ext.name}`, 'externalNetworks');
      tx.op('HDEL', this.k.fabric(f, 'devices'), d);
      if (cur.serial) tx.op('HDEL', this.k.fabric(f, 'serials'), cur.serial);
      tx.op('HDEL', this.k.fabric(f, 'ports'), d);
      tx.op('HDEL', this.k.fabric(f, 'hostkeys'), d);
      tx.op('SREM', this.k.fabric(f, 'needs'), d);
      if (opts.keepHistory) {
        const earlier = prev ? [prev.id, ...(prev.earlierIds ?? [])].filter((id) => id !== cur.id) : [];
        // Bounded: the oldest chained history beyond REMOVED_CHAIN is dropped, not leaked.
        for (const id of earlier.slice(REMOVED_CHAIN)) tx.op('DEL', this.k.cfg(f, id));
        const rec: RemovedDevice = { ...cur, removedAt: now(), ...(opts.jobId ? { removedBy: opts.jobId } : {}), ...(earlier.length ? { earlierIds: earlier.slice(0, REMOVED_CHAIN) } : {}) };
        tx.op('HSET', this.k.fabric(f, 'removed'), d, JSON.stringify(rec));
      } else tx.op('DEL', this.k.cfg(f, cur.id));
      const alloc: Allocations = { loopbacks: { ...s.alloc.loopbacks }, asns: { ...s.alloc.asns }, links: { ...s.alloc.links } };
      delete alloc.loopbacks[d];
      delete alloc.asns[d];
      const peers = new Set<string>();
      for (const [k, l] of s.links) {
        if (l.a.device !== d && l.b.device !== d) continue;
        tx.op('HDEL', this.k.fabric(f, 'links'), k);
        delete alloc.links[k];
        const peer = l.a.device === d ? l.b.device : l.a.device;
        if (peer !== d && s.devices.has(peer)) peers.add(peer);
      }
      if (peers.size) tx.op('SADD', this.k.fabric(f, 'needs'), ...peers);
      tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(alloc));
      this.core.event(tx, f, { actor: ctx.actor, action: 'device.deleted', object: `device/${d}`, details: { serial: cur.serial, peers: [...peers] } });
    }, undefined, readRemoved);
  }

  /** Replaces the ports of a device (discovery's interface onboarding). */
  async setPorts(f: string, d: string, ports: PortRecord[], ctx: Actor = {}): Promise<void> {
    await this.core.mutateFine(f, 'setPorts', async (read, tx) => {
      const [fab, dev, old] = await read([[this.k.fabrics, f], [this.k.fabric(f, 'devices'), d], [this.k.fabric(f, 'ports'), d]]);
      if (!fab) throw notFound(`fabric ${f}`);
      if (!dev) throw notFound(`device ${d} in fabric ${f}`);
      if (sameJson(ports, old ? JSON.parse(old) : [])) return;
      tx.inventory = false;
      tx.op('HSET', this.k.fabric(f, 'ports'), d, JSON.stringify(ports));
      this.core.event(tx, f, { actor: ctx.actor ?? 'discovery', action: 'device.ports', object: `device/${d}`, details: { ports: ports.length } });
    });
  }

  // ----------------------------------------------------------------------------- needsConfig markers

  async listNeedsConfig(f: string): Promise<string[]> {
    return (await this.core.redis.smembers(this.k.fabric(f, 'needs'))).sort();
  }
  // These bump the commit version so a rename in flight retries and moves the marker.
  async markNeedsConfig(f: string, devices: string[]): Promise<void> {
    if (devices.length) await this.core.redis.multi().sadd(this.k.fabric(f, 'needs'), ...devices).incr(this.k.fabric(f, 'ver')).exec();
  }
  async clearNeedsConfig(f: string, devices: string[]): Promise<void> {
    if (devices.length) await this.core.redis.multi().srem(this.k.fabric(f, 'needs'), ...devices).incr(this.k.fabric(f, 'ver')).exec();
  }
}
