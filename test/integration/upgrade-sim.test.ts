// The real rolling-upgrade job over the light simulator (src/lab/sim): 2 spines x 4 leaves, a
// dual-homed server on leaf1+leaf2 and on leaf3+leaf4, maxParallel 2. The sim answers
// install-software (install time, a reboot during which its NETCONF is gone and its BGP
// sessions are down at its peers, back with the new version) and reports BGP sessions and
// routes derived from the pushed config, so prechecks, the pushes' verify and the postchecks
// run as on a device. (1) everything upgrades, batches obey the rules and run one after
// another; (2) an install that fails stops the plan after its batch, leaves that device drained
// in maintenance with the reason, and the job fails saying what was and was not done.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { runSim, type Sim } from '../../src/lab/sim';
import { simFabricInput } from '../../src/lab/sim/fabric';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store } from '../../src/store';
import { imageStoreAt, type ImageRecord } from '../../src/store/images';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush, readRunning, type DevicePush } from '../../src/jobs/push';
import { upgradeJob, configureUpgrade } from '../../src/jobs/upgrade/job';
import { maintenanceJob } from '../../src/jobs/maintenance/job';
import { NetconfClient } from '../../src/netconf/client';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { jobFinished } from '../lab/helpers';

const CIDR = '127.61.0.0/24';
const PORT = 38_861;
const F = 'dysim';
const CREDS = { username: 'admin', password: 'dy-s3cret' };

describeIf({ commands: ['redis-server'] })('rolling upgrade on the simulator (2 spines x 4 leaves, maxParallel 2)', () => {
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  let sim: Sim;
  let dp: DevicePush;
  const conns: Redis[] = [];

  const finished = (id: string, ms = 240_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const image = async (version: string): Promise<ImageRecord> => {
    const path = join(dir, `frr-${version}.bin`);
    writeFileSync(path, randomBytes(1024));
    return imageStoreAt(store, dir).create({ name: `frr-${version}`, platform: 'frr', version, path });
  };
  const upgrade = async (img: ImageRecord): Promise<JobView> =>
    finished(await jobs.submit('upgrade', F, { image: img.name, maxParallel: 2, imageUrl: `http://127.61.0.254:8080/images/${img.name}/${img.sha256}` }));
  const frrConf = async (dev: string): Promise<string> => {
    const d = sim.devices.find((x) => x.name === dev)!;
    const c = await NetconfClient.connect({ host: d.address, port: PORT, deviceId: dev, ...CREDS, connectTimeoutMs: 10_000 });
    try { return (await readRunning(c, dev, 'frr'))[`${dev}.frr.conf`]; } finally { await c.close(); }
  };
  const logIndex = (v: JobView, dev: string, re: RegExp) => v.log.findIndex((l) => l.device === dev && re.test(l.message));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dy-upgrade-sim-'));
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    store = new Store(redis, { secretKey: randomBytes(32) });
    sim = await runSim({ spines: 2, leaves: 4, cidr: CIDR, netconfPort: PORT, snmp: false, credentials: CREDS, install: { installMs: 100, rebootMs: 600 } });
    await store.createFabric(simFabricInput(F, sim.devices, sim.links, { cidr: CIDR, credentials: CREDS, dualHomedServers: true }) as never);
    for (const d of sim.devices) await store.updateDevice(F, d.name, { managedState: 'active' });
    // Verify on: the sim's sessions and routes come from the pushed configs.
    dp = createPush({ resolveEndpoint: ({ managementIp }) => ({ host: managementIp, port: PORT }), verifyTimeoutMs: 30_000, verifyPollMs: 200, connectTimeoutMs: 5_000, rpcTimeoutMs: 10_000 });
    configureUpgrade({ pollMs: 200, rebootTimeoutMs: 30_000, postcheckTimeoutMs: 30_000 });
    const types = new JobTypes().register(autoconfigureJob({ push: dp.push })).register(upgradeJob({ device: dp })).register(maintenanceJob({ device: dp }));
    jobs = new JobSystem({ connection: redis, connect: () => { const c = connectRedis(server.url); conns.push(c); return c; }, lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 10 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    if (v.state !== 'succeeded') throw new Error(`autoconfigure: ${v.error}`);
  }, 120_000);

  afterAll(async () => {
    configureUpgrade(undefined);
    await jobs?.close();
    for (const c of conns) c.disconnect();
    redis?.disconnect();
    await sim?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the sim reports sessions from the pushed config: every planned session Established after autoconfigure', async () => {
    // leaf1: eBGP to both spines, EVPN to both RRs
    const s = sim.netconf!.routing.sessions('leaf1');
    expect(s.map((x) => `${x.peerDevice}/${x.afi}/${x.state}`).sort()).toEqual([
      'spine1/ipv4Unicast/Established', 'spine1/l2VpnEvpn/Established', 'spine2/ipv4Unicast/Established', 'spine2/l2VpnEvpn/Established',
    ]);
    expect(sim.netconf!.routing.routes('leaf1')).toHaveLength(6);
  });

  test('a peer of the device is down (not part of the upgrade): the precheck refuses, nothing changes', async () => {
    await sim.netconf!.setPower('leaf4', false);
    try {
      // the fault happened: leaf4's sessions are down at the spines, its loopback gone
      expect(sim.netconf!.routing.sessions('spine1').filter((x) => x.state !== 'Established')).toHaveLength(2);
      expect(sim.netconf!.routing.routes('leaf1')).toHaveLength(5);
      const v = await finished(await jobs.submit('upgrade', F, { image: (await image('8.9.9')).name, devices: ['leaf1'], imageUrl: 'http://127.61.0.254:8080/images/frr-8.9.9/x' }));
      expect(v.state).toBe('failed');
      expect(v.error).toMatch(/leaf1 failed \(precheck: the device is not healthy before the upgrade \(.*no route to leaf4's loopback .*\); nothing changed\)/);
      expect((await store.getDevice(F, 'leaf1'))!.managedState).toBe('active');
      expect(sim.netconf!.status('leaf1')).toEqual({ version: '8.4.4', rebooting: false, reboots: 0 });
      expect(await frrConf('leaf1')).not.toContain('graceful-shutdown');
    } finally {
      await sim.netconf!.setPower('leaf4', true);
    }
  }, 120_000);

  test('upgrade to 9.1.0: leaves before spines, at most 2 per batch, partners apart, batches in turn; every device reports 9.1.0', async () => {
    const v = await upgrade(await image('9.1.0'));
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    const res = v.result as { batches: { devices: string[] }[]; upgraded: string[] };
    expect(res.batches.map((b) => b.devices)).toEqual([['leaf1', 'leaf3'], ['leaf2', 'leaf4'], ['spine1'], ['spine2']]);
    expect(res.upgraded).toEqual(['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2']);
    // A batch's installs start only after every device of the previous batch left maintenance.
    for (let b = 1; b < res.batches.length; b++) {
      const lastUndrain = Math.max(...res.batches[b - 1].devices.map((d) => logIndex(v, d, /^undrained/)));
      expect(lastUndrain).toBeGreaterThan(-1);
      for (const d of res.batches[b].devices) expect(logIndex(v, d, /install-software accepted/)).toBeGreaterThan(lastUndrain);
    }
    for (const d of sim.devices) {
      expect(sim.netconf!.status(d.name)).toEqual({ version: '9.1.0', rebooting: false, reboots: 1 });
      const rec = (await store.getDevice(F, d.name))!;
      expect(`${rec.osVersion}/${rec.managedState}`).toBe('9.1.0/active');
      // It really was away: the job saw it unreachable before it came back.
      expect(logIndex(v, d.name, /^back after .* reporting 9\.1\.0$/)).toBeGreaterThan(-1);
    }
    expect(await frrConf('leaf1')).not.toContain('graceful-shutdown');
  }, 240_000);

  test('maxParallel 2: a batch-mate still rebooting is away, not broken: the other device\'s verifies do not fail on its loopback', async () => {
    // leaf3 stays down 50 s, longer than a push's verify waits (30 s + grace): leaf1 undrains
    // (push with verify) while leaf3 is still away.
    sim.netconf!.rebootMsOf.set('leaf3', 50_000);
    configureUpgrade({ pollMs: 200, rebootTimeoutMs: 120_000, postcheckTimeoutMs: 30_000 });
    try {
      const v = await finished(await jobs.submit('upgrade', F, { image: (await image('9.3.0')).name, devices: ['leaf1', 'leaf3'], maxParallel: 2, imageUrl: 'http://127.61.0.254:8080/images/frr-9.3.0/x' }));
      expect(v.error).toBeUndefined();
      expect(v.state).toBe('succeeded');
      expect((v.result as { batches: { devices: string[] }[] }).batches.map((b) => b.devices)).toEqual([['leaf1', 'leaf3']]);
      // the overlap happened: leaf1 left maintenance before leaf3 was back
      expect(logIndex(v, 'leaf1', /^undrained/)).toBeGreaterThan(-1);
      expect(logIndex(v, 'leaf1', /^undrained/)).toBeLessThan(logIndex(v, 'leaf3', /^back after/));
      expect(v.log.some((l) => l.device === 'leaf1' && /leaf3 not configured \(its push failed\): loopback .* not checked/.test(l.message))).toBe(true);
      for (const d of ['leaf1', 'leaf3']) expect(sim.netconf!.status(d)!.version).toBe('9.3.0');
    } finally {
      sim.netconf!.rebootMsOf.delete('leaf3');
      configureUpgrade({ pollMs: 200, rebootTimeoutMs: 30_000, postcheckTimeoutMs: 30_000 });
    }
  }, 240_000);

  test('an install that fails: the plan stops after that batch, the device stays drained in maintenance, the job names what was done and not', async () => {
    sim.netconf!.failing.add('leaf3');
    const others = ['leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2'];
    const before = others.map((d) => sim.netconf!.status(d)!.version);
    const v = await upgrade(await image('9.2.0'));
    expect(v.state).toBe('failed');
    expect(v.error).toMatch(/leaf3 failed \(.*install of 9\.2\.0 failed: image verification error/);
    expect(v.error).toMatch(/upgraded: leaf1; not upgraded: leaf2, leaf4, spine1, spine2; left in maintenance: leaf3/);
    expect(sim.netconf!.status('leaf1')!.version).toBe('9.2.0');
    expect(others.map((d) => sim.netconf!.status(d)!.version)).toEqual(before);
    const leaf3 = (await store.getDevice(F, 'leaf3'))!;
    expect(leaf3.managedState).toBe('maintenance');
    expect(await frrConf('leaf3')).toContain(' bgp graceful-shutdown');
    expect(v.log.some((l) => l.device === 'leaf3' && /^left in maintenance \(drained\): .*image verification error/.test(l.message))).toBe(true);
    for (const d of ['leaf2', 'leaf4']) expect(logIndex(v, d, /^not started: the plan stopped/)).toBeGreaterThan(-1);
    // The operator's way back: leave maintenance (the intended config, verified).
    sim.netconf!.failing.delete('leaf3');
    const back = await finished(await jobs.submit('maintenance', F, { device: 'leaf3', enabled: false }));
    expect(back.state).toBe('succeeded');
    expect(await frrConf('leaf3')).not.toContain('graceful-shutdown');
  }, 240_000);
});
