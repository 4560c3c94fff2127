// Greenfield onboarding on the twin with DHCP_BACKEND=kea: as discovery-greenfield-twin.test.ts,
// but Debian's kea-dhcp4 answers DHCP (driven by the service's Kea backend inside the lab's
// controller namespace, on mgmt0 only). A 1-spine 2-leaf fabric in factory default; leaf2 is not
// in the fabric's device list, so it goes the unreserved way (short lease, learned, reserved,
// ZTP options at its renewal). The devices' own dhclient and agent do the rest; the onboarding
// job reads facts over NETCONF and LLDP over SNMP. Then a second run changes nothing.
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import type { Store } from '../../src/store';
import { startDiscoveryTwin, src, type DiscoveryTwin } from '../helpers/discovery-fixture';

jest.setTimeout(400_000);

const LAB = `eco${randomBytes(2).toString('hex')}`;
const SERIALS = { spine1: 'KG00001', leaf1: 'KG00011', leaf2: 'KG00012' } as const;
const LINKS: [string, string][] = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51']];

describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'lldpd', 'snmpd', 'dhclient', 'redis-server', '/usr/sbin/kea-dhcp4'] })('greenfield onboarding through Kea on a 1x2 twin', () => {
  let tw: DiscoveryTwin | undefined;
  let store: Store;
  let out = '';
  let results: any[] = [];

  beforeAll(async () => {
    tw = await startDiscoveryTwin({ prefix: `${LAB}-`, lab: LAB, fabric: 'kg', password: 'Kg-s3cret!', community: 'kg-ro', serials: SERIALS, links: LINKS });
    const fx = tw.fx;
    store = fx.store;
    await store.deleteDevice('kg', 'leaf2'); // unlisted: Kea learns it from its lease
    const script = `
const Redis = require('ioredis');
const Fastify = require('fastify');
const { Store } = require(${src('src/store/index.ts')});
const { startDiscoveryServices } = require(${src('src/discovery/service.ts')});
const { RedisLeaseStore } = require(${src('src/discovery/dhcp/leases.ts')});
const { ztpPlugin } = require(${src('src/discovery/ztp-http.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const log = (m) => console.log('LOG ' + m);
  // what the API process does with DHCP_INTERFACE=mgmt0 DHCP_BACKEND=kea
  const discovery = await startDiscoveryServices({ store, config: { dhcpInterface: 'mgmt0', dhcpBackend: 'kea', dataDir: ${JSON.stringify(fx.dir)}, ztpBaseUrl: 'http://10.0.0.1:18080', port: 18080 },
    logger: { info: (o, m) => log(m), warn: (o, m) => log(m) } });
  console.log('KEA ' + discovery.kea.pid());
  const app = Fastify();
  await app.register(ztpPlugin, { leases: new RedisLeaseStore(redis), secrets: (f) => store.getFabricSecrets(f),
    deviceName: async (f, s) => (await store.listDevices(f)).find((d) => d.serial === s)?.name, onServed: (e) => log('served bootstrap to ' + e.serial) });
  await app.listen({ port: 18080, host: '10.0.0.1' });
  const run = () => runOnboarding({ fabric: 'kg', params: { mode: 'greenfield', expectedDevices: 3, timeoutSeconds: 180, bootstrapWaitSeconds: 150, leaseSeconds: 600 },
    services: { store, redis, config: { discoveryAllow: ['10.0.0.0/24'] } }, log });
  const t0 = Date.now();
  const r1 = await run();
  console.log('RESULT ' + JSON.stringify({ ...r1, ms: Date.now() - t0 }));
  const r2 = await run();
  console.log('RESULT ' + JSON.stringify(r2));
  await app.close(); await discovery.stop(); redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results } = await fx.runChild(`${LAB}-ctl`, script, { timeoutMs: 330_000, results: 2, tail: 4000, onOutput: (o) => { out = o; } }));
  }, 380_000);

  afterAll(async () => {
    const pid = Number(/^KEA (\d+)$/m.exec(out)?.[1] ?? 0);
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* stopped by the child, as it should be */ } }
    await tw?.down();
  }, 60_000);

  test('Kea served the leases: all 3 devices onboarded with their names, the unlisted one by its serial, both links', async () => {
    expect(out).toMatch(/kea: kea-dhcp4 \(pid \d+\) serving mgmt0 as 10\.0\.0\.1/);
    const r1 = results[0];
    expect(r1.failed).toEqual([]);
    expect(r1.missing).toEqual([]);
    expect(r1.found.map((f: any) => `${f.name}/${f.serial}/${f.profile}`).sort()).toEqual(['KG00012/KG00012/frr-switch', 'leaf1/KG00011/frr-switch', 'spine1/KG00001/frr-switch']);
    expect(r1.anomalies).toEqual([]);
    expect(r1.links).toEqual({ found: 2, added: 2, kept: 0 });
    const links = (await store.listLinks('kg')).map((l) => [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join('--')).sort();
    expect(links).toEqual(['KG00012:swp51--spine1:swp2', 'leaf1:swp51--spine1:swp1']);
    for (const d of await store.listDevices('kg')) {
      expect(d.managementIp).toMatch(/^10\.0\.0\.\d+$/);
      expect(d.managedState).toBe('active');
      expect(d.hostname).toBe(d.name);
    }
    expect(out).not.toContain('Kg-s3cret!');
    for (const s of Object.values(SERIALS)) expect(out.split('\n').filter((l) => l === `LOG served bootstrap to ${s}`)).toHaveLength(1);
  });

  test('a second run changes nothing, and stopping the service stops kea-dhcp4', () => {
    const r2 = results[1];
    expect(r2.failed).toEqual([]);
    expect(r2.found).toHaveLength(3);
    expect(r2.links).toEqual({ found: 2, added: 0, kept: 2 });
    expect(r2.needsConfig).toEqual([]);
    const pid = Number(/^KEA (\d+)$/m.exec(out)![1]);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
