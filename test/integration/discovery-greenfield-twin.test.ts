// Greenfield onboarding on the twin (H6's netns backend): a 2-spine 3-leaf fabric in factory
// default. Inside the lab's controller namespace run our DHCP server (on mgmt0), the ZTP
// bootstrap route and the onboarding job; the devices' own dhclient takes a lease, fetches the
// bootstrap, applies it; the job reads facts over NETCONF and LLDP over SNMP. Then a second
// run changes nothing. The store is a real Redis on a unix socket.
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import type { Store } from '../../src/store';
import { startDiscoveryTwin, src, type DiscoveryTwin } from '../helpers/discovery-fixture';

jest.setTimeout(400_000);

const LAB = `g${randomBytes(3).toString('hex')}`;
const SERIALS = { spine1: 'GF00001', spine2: 'GF00002', leaf1: 'GF00011', leaf2: 'GF00012', leaf3: 'GF00013' } as const;
const LINKS: [string, string][] = [
  ['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine1:swp3', 'leaf3:swp51'],
  ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52'], ['spine2:swp3', 'leaf3:swp52'],
];

describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'lldpd', 'snmpd', 'dhclient', 'redis-server'] })('greenfield onboarding on a 2x3 twin', () => {
  let tw: DiscoveryTwin | undefined;
  let store: Store;
  let out = '';
  let results: any[] = [];

  beforeAll(async () => {
    tw = await startDiscoveryTwin({ prefix: 'ds-gf-', lab: LAB, fabric: 'gf', password: 'Gf-s3cret!', community: 'gf-ro', serials: SERIALS, links: LINKS });
    const fx = tw.fx;
    store = fx.store;

    const script = `
const Redis = require('ioredis');
const Fastify = require('fastify');
const { Store } = require(${src('src/store/index.ts')});
const { RedisLeaseStore, startDhcpFromEnv } = require(${src('src/discovery/dhcp/index.ts')});
const { ztpPlugin } = require(${src('src/discovery/ztp-http.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const log = (m) => console.log('LOG ' + m);
  const dhcp = await startDhcpFromEnv(redis, { DHCP_INTERFACE: 'mgmt0', ZTP_BASE_URL: 'http://10.0.0.1:18080', PORT: '18080' }, { log, registryCacheMs: 200 });
  const app = Fastify();
  await app.register(ztpPlugin, { leases: new RedisLeaseStore(redis), secrets: (f) => store.getFabricSecrets(f),
    deviceName: async (f, s) => (await store.listDevices(f)).find((d) => d.serial === s)?.name, onServed: (e) => log('served bootstrap to ' + e.serial) });
  await app.listen({ port: 18080, host: '10.0.0.1' });
  const run = () => runOnboarding({ fabric: 'gf', params: { mode: 'greenfield', expectedDevices: 5, timeoutSeconds: 180, bootstrapWaitSeconds: 120, leaseSeconds: 600 },
    services: { store, redis, config: { discoveryAllow: ['10.0.0.0/24'] } }, log });
  const t0 = Date.now();
  const r1 = await run();
  console.log('RESULT ' + JSON.stringify({ ...r1, ms: Date.now() - t0 }));
  const r2 = await run();
  console.log('RESULT ' + JSON.stringify(r2));
  await app.close(); await dhcp.stop(); redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results } = await fx.runChild(`${LAB}-ctl`, script, { timeoutMs: 330_000, results: 2, tail: 4000, onOutput: (o) => { out = o; } }));
  }, 380_000);

  afterAll(async () => {
    await tw?.down();
  }, 60_000);

  test('finds all 5 devices with the right serials, models and names, and all 6 links with the right ports', async () => {
    const r1 = results[0];
    expect(r1.failed).toEqual([]);
    expect(r1.missing).toEqual([]);
    expect(r1.found.map((f: any) => `${f.name}/${f.serial}/${f.profile}`).sort()).toEqual(
      Object.entries(SERIALS).map(([n, s]) => `${n}/${s}/frr-switch`).sort());
    expect(r1.anomalies).toEqual([]);
    expect(r1.links).toEqual({ found: 6, added: 6, kept: 0 });
    const links = (await store.listLinks('gf')).map((l) => [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join('--')).sort();
    expect(links).toEqual(LINKS.map((l) => [...l].sort().join('--')).sort());
    const devs = await store.listDevices('gf');
    for (const d of devs) {
      expect(d.model).toBe('frr-switch');
      expect(d.managementIp).toMatch(/^10\.0\.0\.\d+$/);
      expect(d.managedState).toBe('active');
      expect(d.hostname).toBe(d.name); // the bootstrap named it
    }
    expect(out).not.toContain('Gf-s3cret!');
    // every device got its bootstrap once
    for (const s of Object.values(SERIALS)) expect(out.split('\n').filter((l) => l === `LOG served bootstrap to ${s}`)).toHaveLength(1);
  });

  test('a second run changes nothing', () => {
    const r2 = results[1];
    expect(r2.failed).toEqual([]);
    expect(r2.found).toHaveLength(5);
    expect(r2.links).toEqual({ found: 6, added: 0, kept: 6 });
    expect(r2.needsConfig).toEqual([]);
  });
});
