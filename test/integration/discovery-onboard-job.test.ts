// The `onboard` job through the service's job system (H5's JobSystem on BullMQ, the type
// registered by src/jobs/runtime.ts, as the service does): brownfield
// on the simulator, one child job per device, per-device steps, the result on the job record.
// Sim, workers and sweep run in a namespace of our own; Redis on a unix socket.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describeIf } from '../helpers/env';
import type { Store } from '../../src/store';
import { simFabric, startDiscoveryFixture, src, type DiscoveryFixture } from '../helpers/discovery-fixture';
import { prepareSimNamespace, removeSimNamespace, simTopology } from '../../src/lab/sim';

const CIDR = '127.31.0.0/24';
const ns = `ds${randomBytes(3).toString('hex')}-job`;

describeIf({ root: true, commands: ['ip', 'fping', 'redis-server'] })('the onboard job through the job system', () => {
  let fx: DiscoveryFixture | undefined;
  let store: Store;
  let out = '';
  let results: any[] = [];

  beforeAll(async () => {
    fx = await startDiscoveryFixture({ prefix: 'ds-onb-', fabric: simFabric('simj', CIDR) });
    store = fx.store;
    const devs = simTopology({ spines: 2, leaves: 2, cidr: CIDR });
    prepareSimNamespace(ns, devs.map((d) => d.address));
    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { runSim } = require(${src('src/lab/sim/index.ts')});
const { JobSystem } = require(${src('src/jobs/index.ts')});
const { builtinJobTypes } = require(${src('src/jobs/runtime.ts')});
const { createLogger } = require(${src('src/log.ts')});
(async () => {
  const mk = () => new Redis({ path: ${JSON.stringify(fx.sock)}, maxRetriesPerRequest: null });
  const redis = mk();
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  // a model and sysObjectID no node profile knows: flagged, not fatal
  const sim = await runSim({ spines: 2, leaves: 2, cidr: ${JSON.stringify(CIDR)}, model: 'acme-x1', sysObjectID: '1.3.6.1.4.1.99999.1' });
  const logger = createLogger({ level: 'silent' });
  const config = { discoveryAllow: [${JSON.stringify(CIDR)}], jobPlugins: [], push: true };
  const types = builtinJobTypes(config, logger);
  console.log('TYPES ' + JSON.stringify(types.names()));
  const jobs = new JobSystem({ connection: redis, connect: mk, lockBackend: store, lockTtlMs: 30000, types });
  await jobs.startWorkers({ redis, config, logger, store }, { concurrency: 4 });
  const id = await jobs.submit('onboard', 'simj', { mode: 'brownfield' });
  let v;
  for (let i = 0; i < 600; i++) {
    v = await jobs.get(id);
    if (v && ['succeeded', 'failed', 'cancelled'].includes(v.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('RESULT ' + JSON.stringify({ view: v, record: v }));
  await jobs.close(); await sim.stop(); redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results } = await fx.runChild(ns, script, { timeoutMs: 150_000, results: 1, tail: 3000, onOutput: (o) => { out = o; } }));
  }, 180_000);

  afterAll(async () => {
    removeSimNamespace(ns);
    fx?.stop();
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
  });

  test('one child per device with facts/snmp/import steps; the result names devices and links; unknown models flagged', () => {
    expect(out).toContain('TYPES ["autoconfigure","maintenance","onboard","remove-device","rma","rollback","upgrade"]');
    const { view, record } = results[0];
    expect(view.state).toBe('succeeded');
    expect(view.progress).toBe(100);
    expect(Object.keys(view.devices).sort()).toEqual(['127.31.0.1', '127.31.0.2', '127.31.0.3', '127.31.0.4']);
    for (const d of Object.values(view.devices) as any[]) expect(d.state).toBe('succeeded');
    const steps = record.steps.filter((st: any) => st.device).map((st: any) => `${st.device}:${st.name}:${st.state}`).sort();
    expect(steps).toEqual(['127.31.0.1', '127.31.0.2', '127.31.0.3', '127.31.0.4'].flatMap((ip) => [`${ip}:facts:succeeded`, `${ip}:import:succeeded`, `${ip}:snmp:succeeded`]).sort());
    expect(view.result.found.map((f: any) => f.name).sort()).toEqual(['SIM00002', 'SIM00004', 'leaf1', 'spine1']);
    expect(view.result.links).toEqual({ found: 4, added: 4, kept: 0 });
    expect(view.result.anomalies).toEqual([]);
    // listed devices keep the fabric file's profile; the others are imported without one and flagged
    expect(view.result.found.map((f: any) => `${f.name}:${f.profile}`).sort()).toEqual(['SIM00002:null', 'SIM00004:null', 'leaf1:frr-switch', 'spine1:frr-switch']);
    expect(view.result.unknownModels).toEqual([
      { name: 'SIM00002', model: 'acme-x1', sysObjectID: '1.3.6.1.4.1.99999.1' },
      { name: 'SIM00004', model: 'acme-x1', sysObjectID: '1.3.6.1.4.1.99999.1' },
    ]);
    expect(record.log.some((l: any) => l.message === 'SIM00002: unknown model "acme-x1" (sysObjectID 1.3.6.1.4.1.99999.1): no node profile matches; imported without one')).toBe(true);
    expect(JSON.stringify(record)).not.toContain('admin123');
    expect(record.log.some((l: any) => /sweep: 4 of 254 addresses answered/.test(l.message))).toBe(true);
  });
});
