// Store round trips against a real redis-server (started per file, random port, AOF on).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, TestRedis, dumpKeys } from '../helpers/redis';
import { Store, StoreError, isStoreError, connectRedis } from '../../src/store';
import { linkKey, Allocations } from '../../src/domain/types';
import { FabricError } from '../../src/domain/errors';

const EXAMPLE = readFileSync(join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8');
const PASSWORD = 'Sup3r-S3cret-pw';
const COMMUNITY = 'c0mmunity-ro-xyz';
/** The example with secrets we can search for in raw Redis data. */
const fabricText = (name: string) => EXAMPLE
  .replace('name: dc1', `name: ${name}`)
  .replace('password: s3cret', `password: ${PASSWORD}`)
  .replace('community: fabric-ro', `community: ${COMMUNITY}`);

async function rejects(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected a rejection');
}

describeIf({ commands: ['redis-server'] })('store (real Redis)', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
  });
  afterAll(async () => { await t?.stop(); });

  test('fabric round trip from the example file; secrets stripped from every reply', async () => {
    const rec = await store.createFabric(fabricText('rt1'), { actor: 'alice' });
    expect(rec.name).toBe('rt1');
    expect(rec.credentials).toEqual({ username: 'admin' });
    expect(rec.snmp).toEqual({ version: 'v2c' });
    expect(rec.namespaces.loopback).toEqual(['10.255.0.0/24']);
    expect(await store.getFabric('rt1')).toEqual(rec);
    expect((await store.listFabrics()).map((f) => f.name)).toContain('rt1');
    expect(await store.getFabric('nope')).toBeNull();

    const devices = await store.listDevices('rt1');
    expect(devices.map((d) => d.name)).toEqual(['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2']);
    const spine1 = devices.find((d) => d.name === 'spine1')!;
    expect(spine1).toMatchObject({
      serial: 'SIM0001', profile: 'frr-switch', physicalRole: 'spine', roles: ['Route-Reflector'],
      managedState: 'dhcp', onboardingState: null, model: null, managementIp: null, osVersion: null,
    });
    const links = await store.listLinks('rt1');
    expect(links).toHaveLength(8);
    expect(links.every((l) => l.subnet === undefined)).toBe(true);

    const secrets = await store.getFabricSecrets('rt1');
    expect(secrets).toEqual({ credentials: { username: 'admin', password: PASSWORD }, snmp: { community: COMMUNITY } });

    const inv = await store.getInventory('rt1');
    const ff = await store.getFabricFile('rt1');
    const events = await store.listEvents('rt1');
    expect(events.items[0]).toMatchObject({ actor: 'alice', action: 'fabric.created', object: 'fabric/rt1', details: { devices: 6, links: 8 } });
    for (const reply of [rec, await store.listFabrics(), inv, ff, events, devices, links]) {
      const text = JSON.stringify(reply);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(COMMUNITY);
    }
    // Encrypted at rest: no raw Redis value holds the password or the community.
    const raw = JSON.stringify(await dumpKeys(redis, 'fz:*'));
    expect(raw).toContain('fz:f:rt1:secret');
    expect(raw).not.toContain(PASSWORD);
    expect(raw).not.toContain(COMMUNITY);
    // The blob is bound to its key: another key cannot read it.
    const other = new Store(connectRedis(t.url), { secretKey: randomBytes(32), prefix: 'fz:' });
    expect((await rejects(other.getFabricSecrets('rt1'))).message).toMatch(/authentication failed/);
    other.redis.disconnect();

    expect(isStoreError(await rejects(store.createFabric(fabricText('rt1'))), 'conflict')).toBe(true);
  });

  test('invalid fabric files are refused with a path and nothing is written', async () => {
    const before = await dumpKeys(redis, 'fz:f:bad1:*');
    const e = await rejects(store.createFabric(fabricText('bad1').replace('profile: frr-switch, physicalRole: leaf', 'profile: no-such-profile, physicalRole: leaf')));
    expect(e).toBeInstanceOf(FabricError);
    expect((e as FabricError).path).toMatch(/^devices\[2\]/);
    expect(await store.getFabric('bad1')).toBeNull();
    expect(await dumpKeys(redis, 'fz:f:bad1:*')).toEqual(before);
  });

  test('SNMP v3 keys are encrypted, redacted and never in events', async () => {
    const text = fabricText('v3').replace(`snmp: {community: ${COMMUNITY}}`, 'snmp: {v3: {user: mon, authKey: AuthKey-123456, privKey: PrivKey-654321}}');
    const rec = await store.createFabric(text);
    expect(rec.snmp).toEqual({ version: 'v3', user: 'mon' });
    expect((await store.getFabricSecrets('v3')).snmp).toEqual({ v3: { user: 'mon', authKey: 'AuthKey-123456', privKey: 'PrivKey-654321' } });
    await store.updateFabric('v3', { credentials: { username: 'ops', password: 'N3w-Pass-word' } });
    expect((await store.getFabricSecrets('v3')).credentials).toEqual({ username: 'ops', password: 'N3w-Pass-word' });
    expect((await store.getFabric('v3'))!.credentials).toEqual({ username: 'ops' });
    const raw = JSON.stringify(await dumpKeys(redis, 'fz:*'));
    for (const s of ['AuthKey-123456', 'PrivKey-654321', 'N3w-Pass-word']) expect(raw).not.toContain(s);
    // appendEvent redacts secret-looking fields a caller might pass by mistake.
    await store.appendEvent('v3', { action: 'x', object: 'fabric/v3', details: { credentials: { password: 'leak-me-not' } } });
    const evs = JSON.stringify(await store.listEvents('v3'));
    expect(evs).not.toContain('leak-me-not');
    expect(evs).toContain('<redacted>');
  });

  test('two updates of different secrets at once: both land (the credentials merge reads the secrets after the snapshot)', async () => {
    await store.createFabric(fabricText('sec2'));
    // A (credentials) stops just before its commit; B (SNMP) commits meanwhile; then A goes on.
    let release!: () => void;
    let reached!: () => void;
    const atCommit = new Promise<void>((r) => { reached = r; });
    const gate = new Promise<void>((r) => { release = r; });
    const storeA = new Store(redis, {
      secretKey: t.secretKey,
      hooks: { beforeCommit: async ({ op, attempt }) => { if (op === 'updateFabric' && attempt === 0) { reached(); await gate; } } },
    });
    const a = storeA.updateFabric('sec2', { credentials: { username: 'ops', password: 'N3w-Pass-word' } });
    await atCommit; // A has read its snapshot and the secrets, and is about to commit
    await store.updateFabric('sec2', { snmp: { community: 'rotated-ro' } });
    release();
    await a;
    const sec = await store.getFabricSecrets('sec2');
    expect(sec.credentials).toEqual({ username: 'ops', password: 'N3w-Pass-word' });
    expect(sec.snmp).toEqual({ community: 'rotated-ro' });
    expect(storeA.stats.conflicts).toBe(1); // A's first commit met B's version and was redone
  });

  test('discovery upsert by serial, facts, ports, host keys, states', async () => {
    await store.createFabric(fabricText('disc'));
    const r1 = await store.upsertDiscoveredDevice('disc', {
      serial: 'SIM0101', model: 'frr', managementIp: '10.0.0.11', osVersion: '8.4',
      ports: [{ name: 'swp51', mac: '02:00:00:00:01:51', operState: 'up' }],
    });
    expect(r1.created).toBe(false);
    expect(r1.device).toMatchObject({ name: 'leaf1', managementIp: '10.0.0.11', osVersion: '8.4', onboardingState: 'discovered', roles: ['CRB-Access'] });
    const r2 = await store.upsertDiscoveredDevice('disc', { serial: 'NEW999', model: 'frr', profile: 'frr-switch', managementIp: '10.0.0.99' });
    expect(r2.created).toBe(true);
    expect((await store.getDeviceBySerial('disc', 'NEW999'))!.name).toBe('NEW999');
    expect((await store.getDeviceBySerial('disc', 'SIM0101'))!.name).toBe('leaf1');
    expect(await store.getDeviceBySerial('disc', 'nope')).toBeNull();
    expect(r2.device).toMatchObject({ name: 'NEW999', serial: 'NEW999', physicalRole: null, roles: [], managedState: 'dhcp', onboardingState: 'discovered' });
    // Same facts again: no write, no event.
    const evBefore = (await store.listEvents('disc', { limit: 1000 })).items.length;
    const r3 = await store.upsertDiscoveredDevice('disc', { serial: 'NEW999', model: 'frr', managementIp: '10.0.0.99' });
    expect(r3.created).toBe(false);
    expect((await store.listEvents('disc', { limit: 1000 })).items.length).toBe(evBefore);

    const d = await store.getDevice('disc', 'leaf1');
    expect(d!.ports).toEqual([{ name: 'swp51', mac: '02:00:00:00:01:51', operState: 'up' }]);
    expect(d!.hostKey).toBeNull();
    const hk = store.hostKeyStore('disc');
    expect(await hk.get('leaf1')).toBeUndefined();
    await hk.set('leaf1', 'SHA256:abc');
    expect(await hk.get('leaf1')).toBe('SHA256:abc');
    expect((await store.getDevice('disc', 'leaf1'))!.hostKey).toBe('SHA256:abc');
    await hk.reset('leaf1');
    expect(await hk.get('leaf1')).toBeUndefined();

    const u = await store.updateDevice('disc', 'leaf1', { managedState: 'active', onboardingState: 'interfaces_onboarded' });
    expect(u).toMatchObject({ managedState: 'active', onboardingState: 'interfaces_onboarded' });
    const bad = await rejects(store.updateDevice('disc', 'leaf1', { managedState: 'flying' as never }));
    expect(bad).toBeInstanceOf(StoreError);
    expect((bad as StoreError).code).toBe('invalid');
    expect(bad.message).toBe('managedState: "flying" is not one of dhcp, rma, activating, active, maintenance, upgrading, error');
    expect((await store.getDevice('disc', 'leaf1'))!.managedState).toBe('active');
    expect(isStoreError(await rejects(store.updateDevice('disc', 'ghost', { osVersion: '1' })), 'not_found')).toBe(true);
    expect(await store.getDevice('disc', 'ghost')).toBeNull();
    await store.setPorts('disc', 'NEW999', [{ name: 'swp1', operState: 'down' }]);
    expect((await store.getDevice('disc', 'NEW999'))!.ports).toEqual([{ name: 'swp1', operState: 'down' }]);
  });

  test('concurrent discovery upserts of different devices never collide; same device retries', async () => {
    await store.createFabric(fabricText('conc'));
    const s2 = new Store(redis, { secretKey: t.secretKey });
    const res = await Promise.all(Array.from({ length: 200 }, (_, i) => s2.upsertDiscoveredDevice('conc', {
      serial: `D${i}`, model: 'frr', profile: 'frr-switch', managementIp: `10.0.0.${i + 20}`, ports: [{ name: 'swp1', operState: 'up' }],
    })));
    expect(res.every((r) => r.created)).toBe(true);
    expect(s2.stats).toEqual({ commits: 200, conflicts: 0 });
    expect((await store.listDevices('conc')).length).toBe(206);
    // 20 state changes of ONE device at once: each applies (last write wins per field), none lost to a torn write.
    await Promise.all(Array.from({ length: 20 }, (_, i) => s2.updateDevice('conc', 'D7', { osVersion: `v${i}` })));
    expect(s2.stats.commits).toBe(220);
    const d7 = (await store.getDevice('conc', 'D7'))!;
    expect(d7).toMatchObject({ serial: 'D7', managementIp: '10.0.0.27', ports: [{ name: 'swp1', operState: 'up' }] });
    expect(d7.osVersion).toMatch(/^v\d+$/);
    const ups = (await store.listEvents('conc', { limit: 10_000 })).items.filter((e) => e.object === 'device/D7' && e.action === 'device.updated');
    expect(ups).toHaveLength(20);
  });

  test('device list cache stays exact across store instances (processes) and versions', async () => {
    await store.createFabric(fabricText('lc'));
    const other = new Store(t.client(), { secretKey: t.secretKey });
    expect((await other.listDevices('lc')).find((d) => d.name === 'leaf1')!.managedState).toBe('dhcp');
    await store.updateDevice('lc', 'leaf1', { managedState: 'active' });
    expect((await other.listDevices('lc')).find((d) => d.name === 'leaf1')!.managedState).toBe('active');
    await store.renameDevice('lc', 'leaf2', 'leaf2b');
    expect((await other.listDevices('lc')).map((d) => d.name)).toEqual(['leaf1', 'leaf2b', 'leaf3', 'leaf4', 'spine1', 'spine2']);
    expect(JSON.parse(await other.listDevicesJson('lc'))).toEqual(await store.listDevices('lc'));
    // Writes that do not touch device records keep the cache (no version bump).
    const dver = await redis.get('fz:f:lc:dver');
    await store.setPorts('lc', 'leaf1', [{ name: 'swp51' }]);
    await store.allocateFabric('lc');
    expect(await redis.get('fz:f:lc:dver')).toBe(dver);
    // Partial reloads: only changed devices are re-read, and the result equals a fresh full read.
    await store.addDevices('lc', [{ name: 'new1', serial: 'N1' }, { name: 'new2', serial: 'N2' }]);
    await store.deleteDevice('lc', 'leaf3');
    await store.upsertDiscoveredDevice('lc', { serial: 'N1', osVersion: '7' });
    const hvals = async () => Number(/cmdstat_hvals:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const h0 = await hvals();
    const list1 = await other.listDevices('lc');
    expect(await hvals()).toBe(h0); // patched from the change log (HMGET of 4 names), no full HVALS
    const fresh = new Store(t.client(), { secretKey: t.secretKey });
    expect(list1).toEqual(await fresh.listDevices('lc'));
    // Updates only: patched in place, order kept.
    const h1 = await hvals(); // (fresh's first list was a full load)
    await store.updateDevice('lc', 'leaf4', { osVersion: 'in-place' });
    await store.updateDevice('lc', 'new1', { managedState: 'maintenance' });
    const list2 = await other.listDevices('lc');
    expect(await hvals()).toBe(h1);
    expect(list2).toEqual(await fresh.listDevices('lc'));
    expect(list2.find((d) => d.name === 'leaf4')!.osVersion).toBe('in-place');
    expect((await other.listDevices('lc')).map((d) => d.name)).toEqual(['leaf1', 'leaf2b', 'leaf4', 'new1', 'new2', 'spine1', 'spine2']);
    expect(await redis.zrangebyscore('fz:f:lc:dchg', `(${await redis.get('fz:f:lc:dver')}`, '+inf')).toEqual([]);
    // A change log trimmed past a reader's version makes it reload everything (10,050 writes in one commit).
    await store.addDevices('lc', Array.from({ length: 10_050 }, (_, i) => ({ name: `bulk${i}` })));
    expect(Number(await redis.get('fz:f:lc:dfloor'))).toBeGreaterThan(0);
    expect(await redis.zcard('fz:f:lc:dchg')).toBe(10_000);
    await store.updateDevice('lc', 'leaf1', { osVersion: 'after-trim' });
    const afterTrim = await other.listDevices('lc');
    expect(afterTrim).toHaveLength(7 + 10_050);
    expect(afterTrim.find((d) => d.name === 'leaf1')!.osVersion).toBe('after-trim');
    for (let i = 0; i < 3; i++) await store.deleteDevice('lc', `bulk${i}`);
    await store.updateDevice('lc', 'bulk9', { osVersion: 'x' });
    expect(await other.listDevices('lc')).toEqual(await fresh.listDevices('lc'));
    expect(await other.listDevices('lc')).toHaveLength(7 + 10_047);
    // Shared records are frozen: editing one throws instead of corrupting the cache.
    const list = await other.listDevices('lc');
    expect(() => { (list[0] as { managedState: string }).managedState = 'error'; }).toThrow(TypeError);
    await store.deleteFabric('lc');
    expect(isStoreError(await rejects(other.listDevices('lc')), 'not_found')).toBe(true);
  });

  test('roles validated against the node profile; refused roles change nothing', async () => {
    await store.createFabric(fabricText('roles'));
    await store.addDevice('roles', { name: 'qfx1', serial: 'QFX1', profile: 'juniper-qfx5110-48s-4c', physicalRole: 'leaf', roles: ['CRB-Access'] });
    const ok = await store.setDeviceRoles('roles', 'qfx1', { physicalRole: 'spine', roles: ['Route-Reflector'] });
    expect(ok).toMatchObject({ physicalRole: 'spine', roles: ['Route-Reflector'] });
    expect(await store.listNeedsConfig('roles')).toEqual(['qfx1']);
    const e = await rejects(store.setDeviceRoles('roles', 'qfx1', { physicalRole: 'leaf', roles: ['DC-Gateway'] }));
    expect(isStoreError(e, 'invalid')).toBe(true);
    expect((e as StoreError).path).toBe('roles[0]');
    expect(e.message).toMatch(/^roles\[0\]: .*DC-Gateway/);
    expect(await store.getDevice('roles', 'qfx1')).toMatchObject({ physicalRole: 'spine', roles: ['Route-Reflector'] });
    // A discovered box without a profile cannot take roles yet.
    await store.upsertDiscoveredDevice('roles', { serial: 'UNK1' });
    expect(isStoreError(await rejects(store.setDeviceRoles('roles', 'UNK1', { physicalRole: 'leaf', roles: [] })), 'conflict')).toBe(true);
  });

  test('allocation: whole fabric, then a later device never renumbers; links carry subnets', async () => {
    await store.createFabric(fabricText('alloc'));
    const a1 = await store.allocateFabric('alloc', { actor: 'bob' });
    expect(Object.keys(a1.loopbacks)).toHaveLength(6);
    expect(Object.keys(a1.asns)).toHaveLength(6);
    expect(Object.keys(a1.links)).toHaveLength(8);
    expect(await store.getAllocations('alloc')).toEqual(a1);
    const links = await store.listLinks('alloc');
    expect(links.every((l) => /^10\.254\.\d+\.\d+\/31$/.test(l.subnet ?? ''))).toBe(true);
    // Idempotent: no change, no event.
    const n = (await store.listEvents('alloc', { limit: 1000 })).items.length;
    expect(await store.allocateFabric('alloc')).toEqual(a1);
    expect((await store.listEvents('alloc', { limit: 1000 })).items.length).toBe(n);

    await store.addDevice('alloc', { name: 'leaf5', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] }, { allocate: true });
    await store.addLinks('alloc', [{ a: { device: 'spine1', port: 'swp5' }, b: { device: 'leaf5', port: 'swp51' } }]);
    const a2 = await store.allocateFabric('alloc');
    for (const [d, ip] of Object.entries(a1.loopbacks)) expect(a2.loopbacks[d]).toBe(ip);
    for (const [d, asn] of Object.entries(a1.asns)) expect(a2.asns[d]).toBe(asn);
    for (const [k, c] of Object.entries(a1.links)) expect(a2.links[k]).toBe(c);
    expect(a2.loopbacks.leaf5).toBeDefined();
    expect(Object.values(a1.loopbacks)).not.toContain(a2.loopbacks.leaf5);
    expect(Object.values(a1.asns)).not.toContain(a2.asns.leaf5);
    expect(Object.keys(a2.links)).toHaveLength(9);
    const ev = (await store.listEvents('alloc', { limit: 1000 })).items.filter((e) => e.action === 'allocations.updated');
    expect(ev[0]).toMatchObject({ actor: 'bob', details: { loopbacks: 6, asns: 6, links: 8 } });
  });

  test('ESI indexes: allocated with the VPGs in the services commit, kept when others come and go', async () => {
    await store.createFabric(fabricText('esi'));
    const vpg = (name: string, port: string) => ({ name, ports: [{ device: 'leaf1', port }, { device: 'leaf2', port }], bindings: [{ network: 'web', untagged: true as const }] });
    const services = (names: [string, string][]) => ({
      virtualNetworks: [{ name: 'web', vni: 10100 }], logicalRouters: [], servers: [],
      vpgs: names.map(([n, p]) => vpg(n, p)),
    });
    await store.setServices('esi', services([['a', 'swp10'], ['b', 'swp11'], ['c', 'swp12']]) as never);
    expect((await store.getAllocations('esi')).esis).toEqual({ a: 1, b: 2, c: 3 });
    // b goes: a and c keep theirs; d takes the freed 2
    await store.changeServices('esi', (cur) => ({ next: { ...cur, vpgs: cur.vpgs.filter((v) => v.name !== 'b') }, result: null }));
    expect((await store.getAllocations('esi')).esis).toEqual({ a: 1, c: 3 });
    await store.changeServices('esi', (cur) => ({ next: { ...cur, vpgs: [vpg('d', 'swp13'), ...cur.vpgs] }, result: null }));
    expect((await store.getAllocations('esi')).esis).toEqual({ d: 2, a: 1, c: 3 });
    // a whole-fabric allocation leaves them alone
    expect((await store.allocateFabric('esi')).esis).toEqual({ d: 2, a: 1, c: 3 });
  });

  test('brownfield import: kept by later allocation; duplicates and out-of-pool values refused', async () => {
    await store.createFabric(fabricText('imp'));
    const k = linkKey({ a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp51' } });
    await store.importAllocations('imp', { loopbacks: { leaf1: '10.255.0.200' }, asns: { leaf1: 64700 }, links: { [k]: '10.254.15.254/31' } });
    const a = await store.allocateFabric('imp');
    expect(a.loopbacks.leaf1).toBe('10.255.0.200');
    expect(a.asns.leaf1).toBe(64700);
    expect(a.links[k]).toBe('10.254.15.254/31');
    expect(new Set(Object.values(a.loopbacks)).size).toBe(6);
    const before = await store.getAllocations('imp');
    const dup = await rejects(store.importAllocations('imp', { loopbacks: { leaf2: '10.255.0.200' } }));
    expect(isStoreError(dup, 'conflict')).toBe(true);
    expect(dup.message).toMatch(/loopback 10\.255\.0\.200 is given to both/);
    const out = await rejects(store.importAllocations('imp', { asns: { leaf2: 65999 } }));
    expect(out.message).toBe('allocations: ASN 65999 of device leaf2 falls outside every ASN range');
    expect(isStoreError(await rejects(store.importAllocations('imp', { loopbacks: { ghost: '10.255.0.9' } })), 'invalid')).toBe(true);
    expect(await store.getAllocations('imp')).toEqual(before);
  });

  test('a defective allocator handing out a duplicate is refused before Redis', async () => {
    await store.createFabric(fabricText('dup'));
    const s2 = new Store(redis, {
      secretKey: t.secretKey,
      allocate: (file): Allocations => ({
        loopbacks: Object.fromEntries(file.devices.map((d) => [d.name, '10.255.0.1'])), asns: {}, links: {},
      }),
    });
    expect((await rejects(s2.allocateFabric('dup'))).message).toMatch(/allocation refused: loopback 10\.255\.0\.1 is given to both/);
    expect(await store.getAllocations('dup')).toEqual({ loopbacks: {}, asns: {}, links: {} });
  });

  test('namespace changes that would orphan allocations are refused; others pass', async () => {
    await store.createFabric(fabricText('ns'));
    await store.allocateFabric('ns');
    const fab = (await store.getFabric('ns'))!;
    const before = await dumpKeys(redis, 'fz:f:ns:*');
    const e = await rejects(store.updateFabric('ns', { namespaces: { ...fab.namespaces, loopback: ['10.255.0.0/30'] } }));
    expect(isStoreError(e, 'conflict')).toBe(true);
    expect((e as StoreError).path).toBe('namespaces.loopback');
    expect(e.message).toMatch(/^namespaces\.loopback: loopback 10\.255\.0\.\d+ of device \S+ would fall outside every loopback pool$/);
    expect(await dumpKeys(redis, 'fz:f:ns:*')).toEqual(before);
    const e2 = await rejects(store.updateFabric('ns', { namespaces: { ...fab.namespaces, asn: [{ min: 65000, max: 65100 }] } }));
    expect((e2 as StoreError).path).toBe('namespaces.asn');
    // Growing a pool is fine.
    const up = await store.updateFabric('ns', { namespaces: { ...fab.namespaces, loopback: ['10.255.0.0/23'] }, settings: { mtu: 9000 } });
    expect(up.namespaces.loopback).toEqual(['10.255.0.0/23']);
    expect(up.settings.mtu).toBe(9000);
  });

  test('rename moves the device everywhere in one write', async () => {
    await store.createFabric(fabricText('ren'));
    await store.allocateFabric('ren');
    await store.upsertDiscoveredDevice('ren', { serial: 'SIM0101', ports: [{ name: 'swp51' }] });
    await store.hostKeyStore('ren').set('leaf1', 'SHA256:leaf1');
    await store.markNeedsConfig('ren', ['leaf1']);
    await store.addConfigCommit('ren', 'leaf1', { jobId: 'j1', text: 'hostname leaf1' });
    const before = await store.getAllocations('ren');
    const old = (await store.getDevice('ren', 'leaf1'))!;

    const r = await store.renameDevice('ren', 'leaf1', 'rack7-leaf1');
    expect(r.name).toBe('rack7-leaf1');
    expect(r.id).toBe(old.id);
    expect(await store.getDevice('ren', 'leaf1')).toBeNull();
    const d = (await store.getDevice('ren', 'rack7-leaf1'))!;
    expect(d).toMatchObject({ serial: 'SIM0101', hostKey: 'SHA256:leaf1', needsConfig: true, ports: [{ name: 'swp51' }] });
    const after = await store.getAllocations('ren');
    expect(after.loopbacks['rack7-leaf1']).toBe(before.loopbacks.leaf1);
    expect(after.asns['rack7-leaf1']).toBe(before.asns.leaf1);
    expect(after.loopbacks.leaf1).toBeUndefined();
    const oldKey = linkKey({ a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp51' } });
    const newKey = linkKey({ a: { device: 'spine1', port: 'swp1' }, b: { device: 'rack7-leaf1', port: 'swp51' } });
    expect(after.links[newKey]).toBe(before.links[oldKey]);
    expect(after.links[oldKey]).toBeUndefined();
    const links = await store.listLinks('ren');
    expect(links.filter((l) => l.a.device === 'leaf1' || l.b.device === 'leaf1')).toEqual([]);
    expect(links.filter((l) => l.a.device === 'rack7-leaf1' || l.b.device === 'rack7-leaf1')).toHaveLength(2);
    expect(await store.listConfigCommits('ren', 'rack7-leaf1')).toMatchObject([{ jobId: 'j1', text: 'hostname leaf1' }]);
    // Discovery finds the box by serial under its new name.
    expect((await store.upsertDiscoveredDevice('ren', { serial: 'SIM0101', osVersion: '9' })).device.name).toBe('rack7-leaf1');
    // Raw: the old name appears nowhere in the fabric's keys (except the histories).
    const raw = await dumpKeys(redis, 'fz:f:ren:*');
    delete raw['fz:f:ren:events'];
    delete raw['fz:f:ren:dchg']; // the device-list change log names both, by design
    expect(JSON.stringify(raw)).not.toMatch(/"leaf1[":]/);
    expect(isStoreError(await rejects(store.renameDevice('ren', 'rack7-leaf1', 'spine1')), 'conflict')).toBe(true);
    expect(isStoreError(await rejects(store.renameDevice('ren', 'rack7-leaf1', 'bad name')), 'invalid')).toBe(true);
  });

  test('replaceLinks marks exactly the devices whose peers changed; deleteDevice frees and marks peers', async () => {
    await store.createFabric(fabricText('links'));
    await store.allocateFabric('links');
    const cur = await store.listLinks('links');
    // Move leaf4's spine2 uplink from swp52 to swp53, drop nothing else.
    const next = cur.map((l) => (l.b.device === 'leaf4' && l.a.device === 'spine2' ? { a: l.a, b: { device: 'leaf4', port: 'swp53' } } : { a: l.a, b: l.b }));
    const r = await store.replaceLinks('links', next);
    expect(r).toEqual({ added: 1, removed: 1, changedDevices: ['leaf4', 'spine2'] });
    expect(await store.listNeedsConfig('links')).toEqual(['leaf4', 'spine2']);
    expect(await store.replaceLinks('links', next)).toEqual({ added: 0, removed: 0, changedDevices: [] });
    await store.clearNeedsConfig('links', ['leaf4', 'spine2']);
    // A port used twice is refused.
    const dupPort = [...next, { a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf3', port: 'swp60' } }];
    expect(isStoreError(await rejects(store.replaceLinks('links', dupPort)), 'conflict')).toBe(true);
    // Unknown device.
    const e = await rejects(store.addLinks('links', [{ a: { device: 'ghost', port: 'swp1' }, b: { device: 'leaf1', port: 'swp9' } }]));
    expect(e.message).toBe('links[0].a.device: no device ghost in fabric links');

    await store.deleteDevice('links', 'leaf1');
    expect((await store.listDevices('links')).map((d) => d.name)).not.toContain('leaf1');
    expect(await store.listNeedsConfig('links')).toEqual(['spine1', 'spine2']);
    const a = await store.getAllocations('links');
    expect(a.loopbacks.leaf1).toBeUndefined();
    expect(Object.keys(a.links).some((k) => k.includes('leaf1:'))).toBe(false);
    expect((await store.listLinks('links')).length).toBe(6);
    // Plain delete: the history goes with the device. keepHistory (the remove-device job): it stays readable by name.
    await store.addConfigCommit('links', 'leaf2', { jobId: 'j1', text: 'hostname leaf2' });
    await store.addConfigCommit('links', 'leaf3', { jobId: 'j1', text: 'hostname leaf3' });
    await store.deleteDevice('links', 'leaf2');
    await expect(store.listConfigCommits('links', 'leaf2')).rejects.toThrow('device leaf2 in fabric links not found');
    await store.deleteDevice('links', 'leaf3', {}, { keepHistory: true, jobId: 'job-rm' });
    expect((await store.listConfigCommits('links', 'leaf3')).map((c) => c.text)).toEqual(['hostname leaf3']);
    expect(await store.getRemovedDevice('links', 'leaf3')).toMatchObject({ name: 'leaf3', removedBy: 'job-rm' });
    expect(await store.getDevice('links', 'leaf3')).toBeNull();

    // A box re-added under the removed one's name: jobs see only its own commits (their diff
    // base and rollback targets); the history route also shows the old box's, marked removed.
    await store.addDevice('links', { name: 'leaf3', serial: 'NEW0103', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    expect(await store.listConfigCommits('links', 'leaf3')).toEqual([]);
    await store.addConfigCommit('links', 'leaf3', { jobId: 'j2', text: 'hostname leaf3 (new box)', at: '2099-01-01T00:00:00.000Z' });
    expect((await store.listConfigCommits('links', 'leaf3')).map((c) => c.text)).toEqual(['hostname leaf3 (new box)']);
    expect(await store.listConfigCommits('links', 'leaf3', { withRemoved: true })).toMatchObject([
      { text: 'hostname leaf3 (new box)' }, { text: 'hostname leaf3', removed: true },
    ]);
    // Removed again: both boxes' histories stay chained under the name, none is orphaned.
    const firstId = (await store.getRemovedDevice('links', 'leaf3'))!.id;
    await store.deleteDevice('links', 'leaf3', {}, { keepHistory: true, jobId: 'job-rm2' });
    expect((await store.getRemovedDevice('links', 'leaf3'))!.earlierIds).toEqual([firstId]);
    expect((await store.listConfigCommits('links', 'leaf3', { withRemoved: true })).map((c) => [c.text, c.removed])).toEqual([
      ['hostname leaf3 (new box)', true], ['hostname leaf3', true],
    ]);
    // Deleting the fabric takes every history with it, the removed boxes' too.
    expect(Object.keys(await dumpKeys(redis, 'fz:f:links:cfg:*')).length).toBeGreaterThanOrEqual(2);
    await store.deleteFabric('links');
    expect(Object.keys(await dumpKeys(redis, 'fz:f:links:cfg:*'))).toEqual([]);
  });

  test('fabric lock: exclusive, only the holder releases, TTL expiry, delete refused while held', async () => {
    await store.createFabric(fabricText('lock'));
    expect(await store.acquireFabricLock('lock', 'job-A', 60_000)).toEqual({ ok: true });
    expect(await store.acquireFabricLock('lock', 'job-B', 60_000)).toEqual({ ok: false, heldBy: 'job-A' });
    expect(await store.acquireFabricLock('lock', 'job-A', 60_000)).toEqual({ ok: true });
    expect(await store.releaseFabricLock('lock', 'job-B')).toBe(false);
    expect(await store.getFabricLock('lock')).toBe('job-A');
    const e = await rejects(store.deleteFabric('lock'));
    expect(isStoreError(e, 'locked')).toBe(true);
    expect((e as StoreError).jobId).toBe('job-A');
    expect(await store.getFabric('lock')).not.toBeNull();
    expect(await store.releaseFabricLock('lock', 'job-A')).toBe(true);
    expect(await store.getFabricLock('lock')).toBeNull();

    // TTL: a holder that stops refreshing loses the lock.
    expect(await store.acquireFabricLock('lock', 'job-C', 300)).toEqual({ ok: true });
    expect(await store.refreshFabricLock('lock', 'job-C', 300)).toBe(true);
    const pttl = await redis.pttl('fz:lock:lock');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    let expired = false;
    for (let i = 0; i < 40 && !expired; i++) { await new Promise((r) => setTimeout(r, 50)); expired = (await store.getFabricLock('lock')) === null; }
    expect(expired).toBe(true);
    expect(await store.refreshFabricLock('lock', 'job-C', 300)).toBe(false);
    expect(await store.acquireFabricLock('lock', 'job-D', 60_000)).toEqual({ ok: true });
    await store.releaseFabricLock('lock', 'job-D');

    await store.deleteFabric('lock', { actor: 'admin' });
    expect(await store.getFabric('lock')).toBeNull();
    expect(isStoreError(await rejects(store.listDevices('lock')), 'not_found')).toBe(true);
    const left = Object.keys(await dumpKeys(redis, 'fz:f:lock:*')).sort();
    // Only the history and the version counters stay (counters never restart: no ABA for a recreated fabric).
    expect(left).toEqual(['fz:f:lock:dchg', 'fz:f:lock:dver', 'fz:f:lock:events', 'fz:f:lock:iver', 'fz:f:lock:ver']);
    const evs = (await store.listEvents('lock', { limit: 100 })).items;
    expect(evs[evs.length - 1]).toMatchObject({ action: 'fabric.deleted', actor: 'admin' });
  });

  test('events: ordered, paged by id and by time', async () => {
    await store.createFabric(fabricText('ev'));
    for (let i = 0; i < 5; i++) await store.appendEvent('ev', { actor: 'u', action: `a${i}`, object: 'fabric/ev' });
    const p1 = await store.listEvents('ev', { limit: 3 });
    expect(p1.items.map((e) => e.action)).toEqual(['fabric.created', 'a0', 'a1']);
    const p2 = await store.listEvents('ev', { since: p1.next, limit: 3 });
    expect(p2.items.map((e) => e.action)).toEqual(['a2', 'a3', 'a4']);
    const p3 = await store.listEvents('ev', { since: p2.next, limit: 3 });
    expect(p3).toEqual({ items: [] });
    const all = await store.listEvents('ev', { since: p1.items[0].at });
    expect(all.items).toHaveLength(6);
    expect(isStoreError(await rejects(store.listEvents('ev', { since: 'yesterday' })), 'invalid')).toBe(true);
  });

  test('intended-config cache: kept across state/fact writes, dropped by writes intent compiles', async () => {
    await store.createFabric(fabricText('cache'));
    const v0 = (await store.getFabricFile('cache')).version;
    const cfg = { platform: 'frr', files: { 'leaf1.frr.conf': 'x' } };
    expect(await store.setIntendedConfig('cache', 'leaf1', cfg, v0)).toBe(true);
    expect(await store.getIntendedConfig('cache', 'leaf1')).toEqual(cfg);
    // A job moving devices through states must not invalidate its own plan.
    await store.updateDevice('cache', 'leaf2', { managedState: 'activating', osVersion: '1' });
    await store.upsertDiscoveredDevice('cache', { serial: 'SIM0102', managementIp: '10.0.0.12', ports: [{ name: 'swp51' }] });
    await store.setPorts('cache', 'leaf3', [{ name: 'swp52' }]);
    expect((await store.getInventory('cache')).version).toBe(v0);
    expect(await store.getIntendedConfig('cache', 'leaf1')).toEqual(cfg);
    // Roles change what intent compiles.
    await store.setDeviceRoles('cache', 'leaf2', { physicalRole: 'leaf', roles: ['null'] });
    expect(await store.getIntendedConfig('cache', 'leaf1')).toBeNull();
    expect((await store.getFabricFile('cache')).version).toBe(v0 + 1);
    // A config computed from an older version is not cached.
    expect(await store.setIntendedConfig('cache', 'leaf1', cfg, v0)).toBe(false);
    expect(await store.getIntendedConfig('cache', 'leaf1')).toBeNull();
    expect(await store.setIntendedConfig('cache', 'leaf1', cfg, v0 + 1)).toBe(true);
  });

  test('ping answers; a 1,000-device fabric lists in one round trip', async () => {
    expect(await store.ping()).toBe(true);
    await store.createFabric(fabricText('big').replace(/devices:[\s\S]*$/, 'devices: []\nlinks: []\n'));
    for (let i = 0; i < 1000; i += 250) {
      await store.addDevices('big', Array.from({ length: 250 }, (_, j) => ({
        name: `leaf${String(i + j).padStart(4, '0')}`, serial: `S${i + j}`, profile: 'frr-switch', physicalRole: 'leaf' as const, roles: [],
      })));
    }
    const list = await store.listDevices('big');
    expect(list).toHaveLength(1000);
    expect(list[0].name).toBe('leaf0000');
    expect(list[999].name).toBe('leaf0999');
  });
});
