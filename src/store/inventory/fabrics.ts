// Fabrics: the fabric record, its encrypted secrets, and the consistent reads intent takes
// (getInventory, getFabricFile). Every write is one commit of the transaction core.
import type { Allocations, FabricFile } from '../../domain/types';
import { linkKey } from '../../domain/types';
import type { Actor, FabricRecord, FabricSecrets, FabricServices, FabricUpdate, Inventory } from '../types';
import { conflict, notFound } from '../errors';
import { decrypt, encrypt } from '../secrets';
import { emptyAllocations, parseFile } from '../domain';
import { orphanedAllocation } from '../checks';
import { INVENTORY_PARTS } from '../keys';
import type { StoreCore } from '../core';
import { checkName, fileOf, linkRecords, newDeviceRecord, now, parseRemoved, removedIds, snmpPublic } from '../model';

export class Fabrics {
  constructor(private readonly core: StoreCore) {}

  private get k() { return this.core.keys; }

  /**
   * Creates a fabric from a fabric file (object, JSON or YAML text): parsed and validated by
   * the domain (FabricError with a path on bad input), secrets encrypted, nothing allocated yet.
   */
  async createFabric(input: FabricFile | object | string, ctx: Actor = {}): Promise<FabricRecord> {
    const file = parseFile(input as object);
    this.core.validate(file);
    const f = checkName('fabric', file.fabric.name, 'fabric.name');
    const at = now();
    const rec: FabricRecord = {
      name: f,
      namespaces: file.fabric.namespaces,
      settings: file.fabric.settings ?? {},
      credentials: { username: file.fabric.credentials.username },
      snmp: snmpPublic(file.fabric.snmp),
      createdAt: at,
      updatedAt: at,
    };
    const secrets: FabricSecrets = { credentials: file.fabric.credentials };
    if (file.fabric.snmp) secrets.snmp = file.fabric.snmp;
    const blob = encrypt(this.core.secretKey, JSON.stringify(secrets), `fabric:${f}`);
    const services: FabricServices = {
      virtualNetworks: file.virtualNetworks ?? [], logicalRouters: file.logicalRouters ?? [],
      servers: file.servers ?? [], vpgs: file.vpgs ?? [], externalNetworks: file.externalNetworks ?? [],
      ...(file.securityGroups?.length ? { securityGroups: file.securityGroups } : {}),
      ...(file.portProfiles?.length ? { portProfiles: file.portProfiles } : {}),
    };
    return this.core.mutate(f, 'createFabric', (s, tx) => {
      if (s.fabric) throw conflict(`fabric ${f} already exists`, 'fabric.name');
      const devs: [string, string][] = [];
      const serials: [string, string][] = [];
      file.devices.forEach((d, i) => {
        checkName('device', d.name, `devices[${i}].name`);
        const rec = newDeviceRecord({ ...d }, at);
        devs.push([d.name, JSON.stringify(rec)]);
        if (d.serial) serials.push([d.serial, d.name]);
      });
      const links: [string, string][] = file.links.map((l) => [linkKey(l), JSON.stringify({ a: l.a, b: l.b })]);
      // Leftovers of an earlier fabric of the same name (deleteFabric removes them; belt and braces).
      for (const part of INVENTORY_PARTS) tx.op('DEL', this.k.fabric(f, part));
      tx.op('HSET', this.k.fabrics, f, JSON.stringify(rec));
      tx.op('SET', this.k.fabric(f, 'secret'), blob);
      tx.op('SET', this.k.fabric(f, 'services'), JSON.stringify(services));
      tx.op('SET', this.k.fabric(f, 'alloc'), JSON.stringify(emptyAllocations()));
      tx.hsetMany(this.k.fabric(f, 'devices'), devs);
      tx.hsetMany(this.k.fabric(f, 'serials'), serials);
      tx.hsetMany(this.k.fabric(f, 'links'), links);
      this.core.event(tx, f, {
        actor: ctx.actor, action: 'fabric.created', object: `fabric/${f}`,
        details: { devices: file.devices.length, links: file.links.length },
      });
      return rec;
    });
  }

  async getFabric(f: string): Promise<FabricRecord | null> {
    const v = await this.core.redis.hget(this.k.fabrics, f);
    return v ? JSON.parse(v) as FabricRecord : null;
  }

  async listFabrics(): Promise<FabricRecord[]> {
    const h = await this.core.redis.hgetall(this.k.fabrics);
    return Object.values(h).map((v) => JSON.parse(v) as FabricRecord).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Changes settings, namespaces, credentials or SNMP. Refused (conflict, nothing written)
   * when the new namespaces would orphan an existing allocation.
   */
  async updateFabric(f: string, upd: FabricUpdate, ctx: Actor = {}): Promise<FabricRecord> {
    const touchesSecrets = upd.credentials !== undefined || upd.snmp !== undefined;
    // The stored secrets, read after the snapshot on each attempt: two updates of different
    // secrets (credentials, SNMP) both land instead of the later one restoring the other's old value.
    const readSecrets = async (): Promise<FabricSecrets | undefined> => (touchesSecrets ? this.getFabricSecrets(f).catch(() => undefined) : undefined);
    return this.core.mutate(f, 'updateFabric', (s, tx, curSecrets) => {
      const cur = this.core.need(s, f);
      let secretsBlob: string | undefined;
      if (touchesSecrets) {
        if (!curSecrets) throw notFound(`fabric ${f}`);
        const next: FabricSecrets = { credentials: upd.credentials ?? curSecrets.credentials };
        const snmp = upd.snmp === undefined ? curSecrets.snmp : upd.snmp ?? undefined;
        if (snmp) next.snmp = snmp;
        secretsBlob = encrypt(this.core.secretKey, JSON.stringify(next), `fabric:${f}`);
      }
      const rec: FabricRecord = {
        ...cur,
        namespaces: upd.namespaces ?? cur.namespaces,
        settings: upd.settings !== undefined ? { ...cur.settings, ...upd.settings } : cur.settings,
        credentials: upd.credentials ? { username: upd.credentials.username } : cur.credentials,
        snmp: upd.snmp === undefined ? cur.snmp : snmpPublic(upd.snmp),
        updatedAt: now(),
      };
      // Validate the new fabric section with the spec-complete devices (overlayAsn needs them);
      // parse first so defaults and structure are checked the same way as on create.
      const file = fileOf({ ...s, fabric: rec }, { links: false });
      if (upd.credentials) file.fabric.credentials = upd.credentials;
      if (upd.snmp) file.fabric.snmp = upd.snmp;
      this.core.validateFile(file);
      if (upd.namespaces) {
        const o = orphanedAllocation(upd.namespaces, s.alloc);
        if (o) throw conflict(o.message, o.path);
      }
      tx.op('HSET', this.k.fabrics, f, JSON.stringify(rec));
      if (secretsBlob) tx.op('SET', this.k.fabric(f, 'secret'), secretsBlob);
      const changed = (['settings', 'namespaces', 'credentials', 'snmp'] as const).filter((key) => upd[key] !== undefined);
      this.core.event(tx, f, { actor: ctx.actor, action: 'fabric.updated', object: `fabric/${f}`, details: { changed } });
      return rec;
    }, undefined, readSecrets);
  }

  /** Deletes the fabric and everything in it. Refused (locked, with the job id) while a fabric job holds the lock. */
  async deleteFabric(f: string, ctx: Actor = {}): Promise<void> {
    // Removed devices' history too (a removal changes the inventory version, so this read is current).
    const readRemoved = async () => (await this.core.redis.hvals(this.k.fabric(f, 'removed'))).flatMap((v) => removedIds(parseRemoved(v)));
    await this.core.mutate(f, 'deleteFabric', (s, tx, removed) => {
      this.core.need(s, f);
      tx.absent(this.k.lock(f));
      tx.op('HDEL', this.k.fabrics, f);
      for (const part of INVENTORY_PARTS) tx.op('DEL', this.k.fabric(f, part));
      for (const id of new Set([...[...s.devices.values()].map((d) => d.id), ...removed])) tx.op('DEL', this.k.cfg(f, id));
      // The event stream stays (and the job records, src/jobs/records.ts): they are the audit trail.
      this.core.event(tx, f, { actor: ctx.actor, action: 'fabric.deleted', object: `fabric/${f}`, details: { devices: s.devices.size } });
    }, undefined, readRemoved);
  }

  /** Decrypted credentials and SNMP settings, for the jobs that talk to devices. Never log or return them. */
  async getFabricSecrets(f: string): Promise<FabricSecrets> {
    const blob = await this.core.redis.get(this.k.fabric(f, 'secret'));
    if (!blob) throw notFound(`fabric ${f}`);
    return JSON.parse(decrypt(this.core.secretKey, blob, `fabric:${f}`)) as FabricSecrets;
  }

  /** Fabric, devices, links (with subnets), allocations and services in one consistent read. */
  async getInventory(f: string): Promise<Inventory> {
    const s = await this.core.readSnapshot(f);
    const fabric = this.core.need(s, f);
    return {
      fabric,
      devices: [...s.devices.values()].sort((a, b) => a.name.localeCompare(b.name)),
      links: linkRecords(s.links, s.alloc),
      allocations: s.alloc,
      services: s.services,
      version: s.intentVersion,
    };
  }

  /** The inventory as a fabric file for intent (credentials redacted), plus the allocation record. */
  async getFabricFile(f: string): Promise<{ file: FabricFile; allocations: Allocations; version: number }> {
    const s = await this.core.readSnapshot(f);
    this.core.need(s, f);
    return { file: fileOf(s), allocations: s.alloc, version: s.intentVersion };
  }
}
