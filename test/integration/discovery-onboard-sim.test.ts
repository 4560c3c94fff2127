// Brownfield onboarding end to end against the simulator: a namespace of our own holds only the
// sim's addresses (so the fping sweep finds exactly them), the sim and the onboarding run in a
// child process inside it, the store is a real Redis on a unix socket (reachable from both).
// Run 1: leaf3 is cabled but not started (answers ping, no NETCONF): 4 found, its facts error
// reported, the rest goes on. Run 2: nothing changes. Run 3: leaf3 started: found, its links
// added, its peers marked for the next autoconfigure, nothing renumbered.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import type { Store } from '../../src/store';
import { simFabric, startDiscoveryFixture, src, type DiscoveryFixture } from '../helpers/discovery-fixture';
import { prepareSimNamespace, removeSimNamespace, simTopology } from '../../src/lab/sim';

const CIDR = '127.30.0.0/24';
const ns = `ds${randomBytes(3).toString('hex')}-onb`;

describeIf({ root: true, commands: ['ip', 'fping', 'redis-server'] })('brownfield onboarding on the simulator', () => {
  let fx: DiscoveryFixture | undefined;
  let store: Store;
  let out = '';
  let results: any[] = [];

  beforeAll(async () => {
    fx = await startDiscoveryFixture({ prefix: 'ds-onb-', fabric: simFabric('sim1', CIDR) });
    store = fx.store;
    const devs = simTopology({ spines: 2, leaves: 3, cidr: CIDR });
    prepareSimNamespace(ns, devs.map((d) => d.address));
    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { runSim } = require(${src('src/lab/sim/index.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const sim = await runSim({ spines: 2, leaves: 3, cidr: ${JSON.stringify(CIDR)}, exclude: ['leaf3'] });
  const run = () => runOnboarding({ fabric: 'sim1', params: { mode: 'brownfield' }, services: { store, redis, config: { discoveryAllow: [${JSON.stringify(CIDR)}] } } });
  const r1 = await run();
  console.log('RESULT ' + JSON.stringify(r1));
  const r2 = await run();
  console.log('RESULT ' + JSON.stringify(r2));
  await sim.startDevice('leaf3');
  const r3 = await run();
  console.log('RESULT ' + JSON.stringify(r3));
  await sim.stop();
  redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results } = await fx.runChild(ns, script, { timeoutMs: 150_000, results: 3, tail: 3000, onOutput: (o) => { out = o; } }));
  }, 180_000);

  afterAll(async () => {
    removeSimNamespace(ns);
    fx?.stop();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
  });

  test('run 1: 4 of 5 found with serials, models, names; the unreachable one is a clear device error; links with anomalies for it', () => {
    const r1 = results[0];
    expect(r1.found.map((f: any) => `${f.name}/${f.serial}/${f.ip}/${f.profile}`).sort()).toEqual([
      'SIM00002/SIM00002/127.30.0.2/frr-switch', 'SIM00004/SIM00004/127.30.0.4/frr-switch',
      'leaf1/SIM00003/127.30.0.3/frr-switch', 'spine1/SIM00001/127.30.0.1/frr-switch',
    ]);
    expect(r1.failed).toHaveLength(1);
    expect(r1.failed[0].device).toBe('127.30.0.5');
    expect(r1.failed[0].error).toMatch(/^netconf 127\.30\.0\.5: /);
    // leaf1-2 x spine1-2 agree; the spines' ports to leaf3 point outside what was found
    expect(r1.links).toEqual({ found: 4, added: 4, kept: 0 });
    expect(r1.anomalies.map((a: any) => `${a.kind} ${a.device}:${a.port}`).sort()).toEqual(['outside-fabric SIM00002:swp3', 'outside-fabric spine1:swp3']);
    expect(r1.unknownModels).toEqual([]);
  });

  test('run 2 changes nothing', () => {
    const r2 = results[1];
    expect(r2.links).toEqual({ found: 4, added: 0, kept: 4 });
    expect(r2.needsConfig).toEqual([]);
    expect(r2.found).toHaveLength(4);
  });

  test('run 3 finds the added device, adds its links only, marks its peers', async () => {
    const r3 = results[2];
    expect(r3.failed).toEqual([]);
    expect(r3.found.map((f: any) => f.serial).sort()).toEqual(['SIM00001', 'SIM00002', 'SIM00003', 'SIM00004', 'SIM00005']);
    expect(r3.links).toEqual({ found: 6, added: 2, kept: 4 });
    expect(r3.anomalies).toEqual([]);
    expect(r3.needsConfig.sort()).toEqual(['SIM00002', 'SIM00005', 'spine1']);
    const links = (await store.listLinks('sim1')).map((l) => `${l.a.device}:${l.a.port}--${l.b.device}:${l.b.port}`).sort();
    expect(links).toEqual([
      'SIM00002:swp1--leaf1:swp52', 'SIM00002:swp2--SIM00004:swp52', 'SIM00002:swp3--SIM00005:swp52',
      'SIM00004:swp51--spine1:swp2', 'SIM00005:swp51--spine1:swp3', 'leaf1:swp51--spine1:swp1',
    ].sort());
    const devs = await store.listDevices('sim1');
    expect(devs.map((d) => `${d.name}:${d.managementIp}:${d.model}:${d.osVersion}:${d.managedState}`).sort()).toEqual([
      'SIM00002:127.30.0.2:frr-switch:8.4.4:active', 'SIM00004:127.30.0.4:frr-switch:8.4.4:active', 'SIM00005:127.30.0.5:frr-switch:8.4.4:active',
      'leaf1:127.30.0.3:frr-switch:8.4.4:active', 'spine1:127.30.0.1:frr-switch:8.4.4:active',
    ]);
  });
});
