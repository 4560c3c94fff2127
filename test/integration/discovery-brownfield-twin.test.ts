// Brownfield onboarding on the twin (H6's netns backend, --preconfigured: management addresses,
// credentials, SNMP already set), cabled with a mistake: a leaf-leaf link and leaf3's second
// uplink on spine2:swp4 where the cabling plan says swp3. The sweep, SNMP, NETCONF facts and
// LLDP run inside the lab's controller namespace; the store is a real Redis on a unix socket.
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import type { Store } from '../../src/store';
import { startDiscoveryTwin, src, type DiscoveryTwin } from '../helpers/discovery-fixture';

jest.setTimeout(400_000);

const LAB = `${process.env.TEST_LAB_PREFIX ?? 'b'}${randomBytes(3).toString('hex')}`; // TEST_LAB_PREFIX: keeps engineers' namespaces apart
const SERIALS = { spine1: 'BF00001', spine2: 'BF00002', leaf1: 'BF00011', leaf2: 'BF00012', leaf3: 'BF00013' } as const;
const PLAN: [string, string][] = [
  ['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine1:swp3', 'leaf3:swp51'],
  ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52'], ['spine2:swp3', 'leaf3:swp52'],
];
// as cabled: leaf3's second uplink on spine2:swp4, plus a leaf-leaf link
const LINKS: [string, string][] = [...PLAN.slice(0, 5), ['spine2:swp4', 'leaf3:swp52'], ['leaf1:swp49', 'leaf2:swp49']];

describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'lldpd', 'snmpd', 'fping', 'redis-server'] })('brownfield onboarding on a preconfigured, miswired 2x3 twin', () => {
  let tw: DiscoveryTwin | undefined;
  let store: Store;
  let out = '';
  let results: any[] = [];

  beforeAll(async () => {
    tw = await startDiscoveryTwin({ prefix: 'ds-bf-', lab: LAB, fabric: 'bf', password: 'Bf-s3cret!', community: 'bf-ro', serials: SERIALS, links: LINKS, preconfigured: true });
    const fx = tw.fx;
    store = fx.store;

    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const log = (m) => console.log('LOG ' + m);
  const plan = ${JSON.stringify(PLAN)};
  // LLDP needs a few seconds after the lab is up: wait (bounded) until every device sees its neighbors
  const run = () => runOnboarding({ fabric: 'bf', params: { mode: 'brownfield', subnets: ['10.0.0.0/24'], cablingPlan: plan },
    services: { store, redis, config: { discoveryAllow: ['10.0.0.0/24'] } }, log });
  let r1;
  for (let i = 0; i < 12; i++) {
    r1 = await run();
    if (!r1.anomalies.some((a) => a.kind === 'one-sided' || a.kind === 'outside-fabric')) break;
    await new Promise((r) => setTimeout(r, 5000));
  }
  console.log('RESULT ' + JSON.stringify(r1));
  const r2 = await run();
  console.log('RESULT ' + JSON.stringify(r2));
  redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results } = await fx.runChild(`${LAB}-ctl`, script, { timeoutMs: 330_000, results: 2, tail: 4000, onOutput: (o) => { out = o; } }));
  }, 380_000);

  afterAll(async () => {
    await tw?.down();
  }, 60_000);

  test('finds all 5 devices with serials and names, the 7 links as cabled, and every anomaly', async () => {
    const r1 = results[0];
    expect(r1.failed).toEqual([]);
    expect(r1.found.map((f: any) => `${f.name}/${f.serial}/${f.profile}`).sort()).toEqual(
      Object.entries(SERIALS).map(([n, s]) => `${n}/${s}/frr-switch`).sort());
    const links = (await store.listLinks('bf')).map((l) => `${[`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join('--')}${l.anomaly ? ` (${l.anomaly})` : ''}`).sort();
    expect(links).toEqual([
      'leaf1:swp49--leaf2:swp49 (leaf-leaf)', 'leaf1:swp51--spine1:swp1', 'leaf1:swp52--spine2:swp1', 'leaf2:swp51--spine1:swp2',
      'leaf2:swp52--spine2:swp2', 'leaf3:swp51--spine1:swp3', 'leaf3:swp52--spine2:swp4',
    ]);
    expect(r1.anomalies.map((a: any) => `${a.kind}: ${a.message}`).sort()).toEqual([
      'leaf-leaf: leaf-leaf link leaf1:swp49 -- leaf2:swp49: kept, not addressed',
      'not-in-plan: found leaf1:swp49 -- leaf2:swp49, not in the plan',
      'not-in-plan: found leaf3:swp52 -- spine2:swp4, not in the plan (see the miswired link)',
      'plan-miswired: planned leaf3:swp52 -- spine2:swp3 is cabled as leaf3:swp52 -- spine2:swp4',
    ]);
    const devs = await store.listDevices('bf');
    expect(devs.map((d) => d.managedState)).toEqual(['active', 'active', 'active', 'active', 'active']);
    expect(out).not.toContain('Bf-s3cret!');
  });

  test('a second run changes nothing', () => {
    const r2 = results[1];
    expect(r2.failed).toEqual([]);
    expect(r2.found).toHaveLength(5);
    expect(r2.links).toEqual({ found: 7, added: 0, kept: 7 });
    expect(r2.needsConfig).toEqual([]);
  });
});
