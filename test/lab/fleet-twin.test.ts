// Adding and removing a leaf on a live fabric (issue 15, proof item 3), on a real twin (netns
// backend, --preconfigured, frr-switch): the lab runs 2 spines and 3 leaves, the fabric manages
// only 2 spines and 2 leaves (leaf3 is powered, cabled, not onboarded). After the first
// autoconfigure, a brownfield onboarding of leaf3's address alone finds only it (the managed
// devices and their allocations untouched) and its two uplinks; an autoconfigure `onlyChanged`
// pushes leaf3 and the spines, nothing else, and leaf1 reaches leaf3's loopback over both
// spines. Then the remove-device job: refused while cabled without force; forced, it drains
// leaf3, pushes the spines without it, frees its loopback/ASN/link subnets (a new device takes
// the loopback again) and keeps its config history and audit events readable.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startDiscoveryFixture, src, type DiscoveryFixture } from '../helpers/discovery-fixture';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { NetconfClient } from '../../src/netconf/client';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { removeDeviceJob } from '../../src/jobs/decommission/job';
import { createPush, readRunning, type DevicePush } from '../../src/jobs/push';
import { planFromStore } from '../../src/jobs/plan-from-store';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { relay, sh, within, namespaces, type Relay, jobFinished } from './helpers';

jest.setTimeout(600_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'fping', 'redis-server'] });

// fl + 5 random characters (8 at most): never collides with another suite's namespaces.
const LAB = `fl${[...randomBytes(5)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('')}`.slice(0, 7);
const F = 'fleet';
const PASSWORD = 'Fl-s3cret!';
const MANAGED = [
  { name: 'spine1', serial: 'FL0001', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'spine2', serial: 'FL0002', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'leaf1', serial: 'FL0101', physicalRole: 'leaf', roles: ['CRB-Access'] },
  { name: 'leaf2', serial: 'FL0102', physicalRole: 'leaf', roles: ['CRB-Access'] },
];
const NEW = { name: 'leaf3', serial: 'FL0103' };
const LINKS: [string, string][] = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52']];
const NEW_LINKS: [string, string][] = [['spine1:swp3', 'leaf3:swp51'], ['spine2:swp3', 'leaf3:swp52']];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

d('adding and removing a leaf on a live 2x2 twin', () => {
  const relays = new Map<string, Relay>();
  let fx: DiscoveryFixture;
  let jobs: JobSystem;
  let dp: DevicePush;
  let mgmt: Record<string, string> = {};
  let labUp = false;
  let conn: Redis | undefined;
  const labRoot = () => `${fx.dir}/lab`;

  const finished = (id: string, ms = 300_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const frrConf = async (dev: string) => {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: relays.get(dev)!.port, deviceId: dev, username: 'admin', password: PASSWORD, connectTimeoutMs: 20_000 });
    try { return (await readRunning(c, dev, 'frr'))[`${dev}.frr.conf`]; } finally { await c.close(); }
  };
  /** Best paths' peers from `dev` to `prefix`, as bgpd chose them (the test looks with vtysh; the product uses NETCONF). */
  const bestVia = async (dev: string, prefix: string): Promise<string[]> => {
    const r = await sh(['vtysh', '-N', `${LAB}-${dev}`, '-c', `show bgp ipv4 unicast ${prefix} json`]);
    const j = JSON.parse(r.stdout || '{}') as { paths?: { bestpath?: { overall?: boolean }; multipath?: boolean; peer?: { peerId?: string } }[] };
    return (j.paths ?? []).filter((p) => p.bestpath?.overall || p.multipath).map((p) => p.peer?.peerId ?? '?').sort();
  };
  const commits = async (dev: string) => (await fx.store.listConfigCommits(F, dev, { limit: 100 })).length;

  beforeAll(async () => {
    fx = await startDiscoveryFixture({ prefix: 'fl-twin-', fabric: {
      fabric: {
        name: F, credentials: { username: 'admin', password: PASSWORD }, snmp: { community: 'fl-ro' },
        namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
      },
      devices: MANAGED.map((x) => ({ ...x, profile: 'frr-switch' })),
      links: LINKS,
    } });
    const topo = validateTopology({
      name: LAB,
      devices: [...MANAGED, NEW].map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
      links: [...LINKS, ...NEW_LINKS],
      management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
      credentials: { username: 'admin', password: PASSWORD },
      snmp: { community: 'fl-ro' },
    });
    labUp = true;
    mgmt = (await netnsBackend.up(topo, { preconfigured: true, root: labRoot(), timeoutSeconds: 180 })).managementIps;
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      const rl = await relay(LAB, mgmt[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(mgmt[dev.name], rl);
    }
    for (const x of MANAGED) await fx.store.updateDevice(F, x.name, { managementIp: mgmt[x.name], managedState: 'active' });
    dp = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 90_000, verifyPollMs: 1000, rpcTimeoutMs: 15_000, confirmTimeoutSeconds: 120, connectTimeoutMs: 5_000,
    });
    const types = new JobTypes().register(autoconfigureJob({ push: dp.push })).register(removeDeviceJob({ device: dp }));
    const connect = () => new Redis({ path: fx.sock, maxRetriesPerRequest: null });
    conn = connect();
    jobs = new JobSystem({ connection: conn, connect, lockBackend: fx.store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis: fx.redis, config: loadConfig({ DATA_DIR: fx.dir }), logger: createLogger({ level: 'silent' }), store: fx.store }, { concurrency: 10 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    if (v.state !== 'succeeded') throw new Error(`first autoconfigure: ${v.error}`);
  }, 400_000);

  afterAll(async () => {
    await within(jobs?.close(), 10_000);
    conn?.disconnect();
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    if (labUp) await netnsBackend.down(LAB, { root: labRoot() });
    fx?.stop();
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  }, 120_000);

  test('adding leaf3: the onboarding finds only it, autoconfigure pushes it and its spines only, sessions up', async () => {
    const before = { devices: await fx.store.listDevices(F), alloc: await fx.store.getAllocations(F) };
    const commitsBefore = Object.fromEntries(await Promise.all(MANAGED.map(async (x) => [x.name, await commits(x.name)] as const)));
    // Brownfield onboarding of leaf3's address alone, inside the lab's controller namespace.
    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  let r;
  // LLDP needs a few seconds after the lab is up: bounded retries until both uplinks are links.
  for (let i = 0; i < 12; i++) {
    r = await runOnboarding({ fabric: ${JSON.stringify(F)}, params: { mode: 'brownfield', subnets: [${JSON.stringify(`${mgmt[NEW.name]}/32`)}] },
      services: { store, redis, config: { discoveryAllow: ['10.0.0.0/24'] } }, log: (m) => console.log('LOG ' + m) });
    if (r.links.found >= 6 && !r.anomalies.length) break;
    await new Promise((res) => setTimeout(res, 5000));
  }
  console.log('RESULT ' + JSON.stringify(r));
  redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    const { results } = await fx.runChild(`${LAB}-ctl`, script, { timeoutMs: 150_000, results: 1, tail: 4000 });
    const r = results[0];
    expect(r.failed).toEqual([]);
    expect(r.found.map((x: { serial: string }) => x.serial)).toEqual([NEW.serial]);
    expect(r.anomalies).toEqual([]);
    // Seen from both ends: the 4 links it already had, and leaf3's two uplinks, new.
    expect(r.links.found).toBe(6);
    const key = (l: { a: { device: string; port: string }; b: { device: string; port: string } }) => [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join('--');
    expect((await fx.store.listLinks(F)).map(key).sort()).toEqual([...LINKS, ...NEW_LINKS.map(([a, b]) => [a, b.replace('leaf3', NEW.serial)])].map(([a, b]) => [a, b].sort().join('--')).sort());
    expect(await fx.store.listNeedsConfig(F)).toEqual([NEW.serial, 'spine1', 'spine2']);
    // The managed devices and their allocations are as they were.
    const after = await fx.store.listDevices(F);
    for (const old of before.devices) expect(after.find((x) => x.name === old.name)).toEqual(old);
    // The operator names it and gives it its roles.
    await fx.store.renameDevice(F, NEW.serial, NEW.name);
    await fx.store.setDeviceRoles(F, NEW.name, { physicalRole: 'leaf', roles: ['CRB-Access'] });

    // The dry run says exactly which devices change.
    const dry = await finished(await jobs.submit('autoconfigure', F, { dryRun: true, onlyChanged: true }));
    expect(dry.state).toBe('succeeded');
    expect(Object.keys(dry.devices).sort()).toEqual(['leaf3', 'spine1', 'spine2']);
    expect(dry.result).toMatchObject({ changed: ['leaf3', 'spine1', 'spine2'], unchanged: ['leaf1', 'leaf2'] });

    const v = await finished(await jobs.submit('autoconfigure', F, { onlyChanged: true }));
    expect([v.state, v.error]).toEqual(['succeeded', undefined]);
    expect(Object.keys(v.devices).sort()).toEqual(['leaf3', 'spine1', 'spine2']);
    // Allocations: the old devices keep theirs, leaf3 got new ones.
    const alloc = await fx.store.getAllocations(F);
    for (const x of MANAGED) {
      expect(alloc.loopbacks[x.name]).toBe(before.alloc.loopbacks[x.name]);
      expect(alloc.asns[x.name]).toBe(before.alloc.asns[x.name]);
    }
    for (const [k, net] of Object.entries(before.alloc.links)) expect(alloc.links[k]).toBe(net);
    expect(alloc.loopbacks.leaf3).toBeDefined();
    // Only leaf3 and the spines have a new commit; the leaves were not touched.
    expect(await commits('leaf1')).toBe(commitsBefore.leaf1);
    expect(await commits('leaf2')).toBe(commitsBefore.leaf2);
    expect(await commits('spine1')).toBe(commitsBefore.spine1 + 1);
    expect(await commits('leaf3')).toBe(1);
    // The push verified every planned session Established; the routes show it too: leaf1
    // reaches leaf3's loopback over both spines.
    let via: string[] = [];
    for (let i = 0; i < 60 && via.length !== 2; i++) { via = await bestVia('leaf1', `${alloc.loopbacks.leaf3}/32`); if (via.length !== 2) await sleep(500); }
    expect(via).toHaveLength(2);
  });

  test('removing leaf3: refused while cabled, forced: drained, its spines pushed without it, allocations freed, history kept', async () => {
    const alloc = await fx.store.getAllocations(F);
    const lo = alloc.loopbacks.leaf3;
    const { plans } = await planFromStore(fx.store, F, false);
    const toLeaf3 = plans.find((p) => p.name === 'spine1')!.underlay.neighbors.find((n) => n.peerDevice === 'leaf3')!.address;
    expect(await frrConf('spine1')).toContain(` neighbor ${toLeaf3} `);
    const spineCommits = await commits('spine1');

    const refused = await finished(await jobs.submit('remove-device', F, { device: 'leaf3' }));
    expect(refused.state).toBe('failed');
    expect(refused.error).toContain('device leaf3 is still cabled to managed peers spine1, spine2');
    expect((await fx.store.getDevice(F, 'leaf3'))!.managedState).toBe('active');

    const v = await finished(await jobs.submit('remove-device', F, { device: 'leaf3', force: true }));
    expect([v.state, v.error]).toEqual(['succeeded', undefined]);
    expect(Object.keys(v.devices).sort()).toEqual(['spine1', 'spine2']);
    expect(v.log.map((l) => l.message)).toContain('drained: BGP graceful shutdown in the running config, every planned session still up');
    expect(v.result).toMatchObject({ removed: true, drained: true, peers: ['spine1', 'spine2'], freed: { loopback: lo } });
    // The spines no longer have its sessions; leaf1 no longer learns its loopback.
    for (const s of ['spine1', 'spine2']) expect(await frrConf(s)).not.toMatch(/leaf3/);
    expect(await frrConf('spine1')).not.toContain(` neighbor ${toLeaf3} `);
    expect(await commits('spine1')).toBe(spineCommits + 1);
    let via = ['?'];
    for (let i = 0; i < 60 && via.length; i++) { via = await bestVia('leaf1', `${lo}/32`); if (via.length) await sleep(500); }
    expect(via).toEqual([]);
    // Allocations and links freed, the serial free for another onboarding.
    const after = await fx.store.getAllocations(F);
    expect(after.loopbacks.leaf3).toBeUndefined();
    expect(after.asns.leaf3).toBeUndefined();
    expect(Object.keys(after.links).filter((k) => k.includes('leaf3'))).toEqual([]);
    expect((await fx.store.listLinks(F)).filter((l) => l.a.device === 'leaf3' || l.b.device === 'leaf3')).toEqual([]);
    expect(await fx.store.getDeviceBySerial(F, NEW.serial)).toBeNull();
    expect(await fx.store.listNeedsConfig(F)).toEqual([]);
    // History kept: its committed configs and the audit events are still readable.
    expect(await commits('leaf3')).toBeGreaterThanOrEqual(2); // the autoconfigure and the drain
    expect(await fx.store.getRemovedDevice(F, 'leaf3')).toMatchObject({ serial: NEW.serial, removedBy: v.id });
    const events = (await fx.store.listEvents(F, { limit: 10000 })).items;
    expect(events.some((e) => e.action === 'device.deleted' && e.object === 'device/leaf3')).toBe(true);
    // A later device reuses the freed loopback.
    await fx.store.addDevice(F, { name: 'leaf9', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] }, { allocate: true });
    expect((await fx.store.getAllocations(F)).loopbacks.leaf9).toBe(lo);
  });
});
