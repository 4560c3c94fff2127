// Autoconfigure end to end on a real twin (netns backend, --preconfigured, 2 spines + 2 leaves of
// frr-switch): a fabric in the store with the devices' serials and management addresses, the
// autoconfigure job through the real BullMQ queue + worker, pushes over NETCONF through the
// device agents, verification of BGP/EVPN/loopbacks read over NETCONF. The test process reaches
// the management network through TCP relays into the lab's controller namespace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { LabPaths, recordedPids } from '../../src/lab/state';
import { NetconfClient } from '../../src/netconf/client';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store } from '../../src/store';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { planFromStore } from '../../src/jobs/plan-from-store';
import { rollbackJob, filesFromCommit } from '../../src/jobs/rollback';
import { createPush, readRunning, type DevicePush } from '../../src/jobs/push';
import { parseFrrState } from '../../src/jobs/verify';
import { computeDrift, startDriftScheduler } from '../../src/jobs/drift';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { labName, tmpRoot, relay, sh, within, namespaces, type Relay, twinFabricInput, jobFinished } from './helpers';

jest.setTimeout(600_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'redis-server'] });

const LAB = labName();
const ROOT = tmpRoot();
const F = 'acf';
const DEVICES = [
  { name: 'spine1', serial: 'SIM0001', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'spine2', serial: 'SIM0002', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'leaf1', serial: 'SIM0101', physicalRole: 'leaf', roles: ['CRB-Access'] },
  { name: 'leaf2', serial: 'SIM0102', physicalRole: 'leaf', roles: ['CRB-Access'] },
];
const LINKS = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52']];
const topo = validateTopology({
  name: LAB,
  devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
  links: LINKS,
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: 's3cret' },
  snmp: { community: 'fabric-ro' },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

d('autoconfigure on a 2x2 twin (push, verify, dry run, no change, faults)', () => {
  const relays = new Map<string, Relay>();
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  /** the push, pointed at the twin's NETCONF ports */
  let devicePush: DevicePush;
  let mgmt: Record<string, string> = {};
  const stepHooks: ((device: string, step: { name: string; state: string }) => void)[] = [];

  const finished = (id: string, ms = 300_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const connect = async (dev: string) => NetconfClient.connect({ host: '127.0.0.1', port: relays.get(dev)!.port, deviceId: dev, username: 'admin', password: 's3cret', connectTimeoutMs: 20_000 });
  const state = async (dev: string) => {
    const c = await connect(dev);
    try { return parseFrrState(await c.get('<frr-state xmlns="urn:fabric:frr"/>')); } finally { await c.close(); }
  };
  const running = async (dev: string) => {
    const c = await connect(dev);
    try { return await readRunning(c, dev, 'frr'); } finally { await c.close(); }
  };
  const agentPid = (dev: string) => recordedPids(new LabPaths(LAB, ROOT).pidFile).find((e) => e.node === dev && e.what === 'agent')!.pid;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const up = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180 });
    mgmt = up.managementIps;
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      const rl = await relay(LAB, mgmt[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(mgmt[dev.name], rl);
    }
    dir = mkdtempSync(join(tmpdir(), 'acf-'));
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric(twinFabricInput(F, DEVICES, LINKS));
    for (const dev of DEVICES) await store.updateDevice(F, dev.name, { managementIp: mgmt[dev.name] });
    devicePush = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 40_000, verifyPollMs: 1000, rpcTimeoutMs: 8_000, confirmTimeoutSeconds: 120,
      onStep: (dev, s) => { for (const h of stepHooks) h(dev, s); },
    });
    const types = new JobTypes().register(autoconfigureJob({ push: devicePush.push })).register(rollbackJob({ push: devicePush.push }));
    const conns: Redis[] = [];
    jobs = new JobSystem({ connection: redis, connect: () => { const c = connectRedis(server.url); conns.push(c); return c; }, lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 20 });
  });

  afterAll(async () => {
    await within(jobs?.close(), 10_000);
    try { redis?.disconnect(); } catch { /* closing */ }
    await within(server?.stop(), 10_000);
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    if (dir) rmSync(dir, { recursive: true, force: true });
    // Benchmark figures (docs/BENCHMARKS.md "Autoconfigure") only when asked for.
    if (process.env.ACF_TIMINGS_FILE && Object.keys(timings).length) writeFileSync(process.env.ACF_TIMINGS_FILE, JSON.stringify(timings));
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  });

  test('dry run before anything is pushed: a diff per device, nothing changes', async () => {
    const v = await finished(await jobs.submit('autoconfigure', F, { dryRun: true }));
    expect(v.state).toBe('succeeded');
    for (const dev of DEVICES) {
      const r = v.devices[dev.name].result as { diff: string; changed: boolean };
      expect(r.changed).toBe(true);
      expect(r.diff).toContain(`--- running/${dev.name}.frr.conf`);
      expect(r.diff).toContain(`+router bgp `);
      expect((await running(dev.name))[`${dev.name}.frr.conf`]).toBe('');
      expect((await store.getDevice(F, dev.name))!.onboardingState).not.toBe('underlay_configured');
    }
  });

  test('autoconfigure pushes every device, verifies, records history; sessions Established over NETCONF', async () => {
    const t0 = Date.now();
    const id = await jobs.submit('autoconfigure', F, {});
    const v = await finished(id);
    timings.firstPushMs = Date.now() - t0;
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    const { plans } = await planFromStore(store, F, false);
    for (const dev of DEVICES) {
      const r = v.devices[dev.name].result as { committed: boolean; verify: { checks: number } };
      expect(r.committed).toBe(true);
      const plan = plans.find((p) => p.name === dev.name)!;
      // underlay sessions + their BFD peers (read from the agent's <bfd> tree) + 3 loopbacks + overlay sessions
      expect(r.verify.checks).toBe(2 * plan.underlay.neighbors.length + 3 + plan.overlay!.neighbors.length);
      expect((r as unknown as { verify: { notes: string[] } }).verify.notes).toEqual([]);
      expect((await store.getDevice(F, dev.name))!.onboardingState).toBe('underlay_configured');
      const hist = await store.listConfigCommits(F, dev.name);
      expect(hist).toHaveLength(1);
      expect(hist[0].jobId).toBe(id);
      expect(hist[0].diff).toContain('+router bgp');
      expect(v.log.filter((l) => l.device === dev.name && /^underlay verified after [\d.]+ s \(\d+ checks\); now the overlay$/.test(l.message))).toHaveLength(1);
      const st = await state(dev.name);
      const v4 = st.bgp.filter((b) => b.afi === 'ipv4');
      const ev = st.bgp.filter((b) => b.afi === 'evpn');
      expect(v4.map((b) => `${b.peer}:${b.state}`).sort()).toEqual(plan.underlay.neighbors.map((n) => `${n.address}:Established`).sort());
      expect(ev.map((b) => `${b.peer}:${b.state}`).sort()).toEqual(plan.overlay!.neighbors.map((n) => `${n.address}:Established`).sort());
      expect(st.bfd!.map((b) => `${b.peer}:${b.state}`).sort()).toEqual(plan.underlay.neighbors.map((n) => `${n.address}:up`).sort());
      expect((await running(dev.name))[`${dev.name}.frr.conf`]).toBe((await store.getIntendedConfig(F, dev.name))!.files[`${dev.name}.frr.conf`]);
    }
  });

  test('afterwards a dry run shows no diff and a second autoconfigure pushes nothing', async () => {
    const dry = await finished(await jobs.submit('autoconfigure', F, { dryRun: true }));
    expect(dry.state).toBe('succeeded');
    for (const dev of DEVICES) expect(dry.devices[dev.name].result).toMatchObject({ changed: false, diff: '' });
    const t0 = Date.now();
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    timings.noChangeMs = Date.now() - t0;
    expect(v.state).toBe('succeeded');
    for (const dev of DEVICES) {
      expect(v.devices[dev.name].result).toMatchObject({ changed: false, committed: false });
      expect(v.log.filter((l) => l.device === dev.name && l.message.startsWith('no changes'))).toHaveLength(1);
      expect(await store.listConfigCommits(F, dev.name)).toHaveLength(1);
    }
  });

  test('a device that stops answering after commit confirmed is rolled back by its own timer; the job reports it', async () => {
    // A change every device must take: the BFD interval.
    await store.updateFabric(F, { settings: { bfd: { intervalMs: 400, multiplier: 3 } } });
    const before = (await running('spine2'))['spine2.frr.conf'];
    const pid = agentPid('spine2');
    let frozen = false;
    stepHooks.push((dev, s) => {
      if (dev === 'spine2' && s.name === 'commit-confirmed' && s.state === 'ok' && !frozen) {
        frozen = true;
        process.kill(pid, 'SIGSTOP');
      }
    });
    let v: JobView;
    try {
      v = await finished(await jobs.submit('autoconfigure', F, {}));
    } finally {
      stepHooks.length = 0;
      if (frozen) process.kill(pid, 'SIGCONT');
    }
    expect(frozen).toBe(true);
    expect(v.state).toBe('failed');
    expect(v.devices.spine2.state).toBe('failed');
    expect(v.devices.spine2.error).toMatch(/verify failed: .*rollback left to the device/);
    for (const dev of ['spine1', 'leaf1', 'leaf2']) expect(v.devices[dev].state).toBe('succeeded');
    expect(v.error).toMatch(/^1 of 4 devices failed: spine2/);
    // Thawed, the device notices its session is gone (or its timer ran out) and restores the old config.
    const end = Date.now() + 150_000;
    let now = '';
    while (Date.now() < end) {
      try { now = (await running('spine2'))['spine2.frr.conf']; } catch { /* agent busy restoring */ }
      if (now === before) break;
      await sleep(1000);
    }
    expect(now).toBe(before);
    expect(now).not.toContain('receive-interval 400');
    expect(await store.listConfigCommits(F, 'spine2')).toHaveLength(1);
    expect(await store.listConfigCommits(F, 'leaf1')).toHaveLength(2);
  });

  test('a device that rejects its commit (FRR runs another AS, set out of band) is reported, running unchanged; the others go on; an incremental autoconfigure repairs it', async () => {
    const before = (await running('leaf1'))['leaf1.frr.conf'];
    const asn = /^router bgp (\d+)/m.exec(before)![1];
    // The fault, set up out of band (not by the service): leaf1's FRR now runs AS 65000.
    const oob = await sh(['vtysh', '-N', `${LAB}-leaf1`, '-c', 'configure terminal', '-c', `no router bgp ${asn}`, '-c', 'router bgp 65000']);
    expect(`${oob.code} ${oob.stdout}${oob.stderr}`.trim()).toBe('0');
    await store.updateFabric(F, { settings: { bfd: { intervalMs: 400, multiplier: 5 } } });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    expect(v.state).toBe('failed');
    expect(v.error).toMatch(/^1 of 4 devices failed: leaf1: push: /);
    expect(v.devices.leaf1.error).toMatch(/^push: leaf1 .*commit-confirmed failed: .*operation-failed.*frr-conf: .*router bgp \d+.*; candidate discarded, running unchanged$/);
    expect((await running('leaf1'))['leaf1.frr.conf']).toBe(before);
    expect(await store.listConfigCommits(F, 'leaf1')).toHaveLength(2);
    for (const dev of ['spine1', 'spine2', 'leaf2']) expect(v.devices[dev].state).toBe('succeeded');
    for (const dev of ['spine1', 'spine2']) {
      const notes = (v.devices[dev].result as { verify: { notes: string[] } }).verify.notes;
      expect(notes.filter((n) => n.startsWith('peer leaf1 not configured (its push failed): BGP '))).toHaveLength(1);
    }
    // Repair: remove the stray instance, then push leaf1 alone.
    expect((await sh(['vtysh', '-N', `${LAB}-leaf1`, '-c', 'configure terminal', '-c', 'no router bgp 65000'])).code).toBe(0);
    const r = await finished(await jobs.submit('autoconfigure', F, { devices: ['leaf1'] }));
    expect(r.state).toBe('succeeded');
    expect(Object.keys(r.devices)).toEqual(['leaf1']);
    expect(r.devices.leaf1.result).toMatchObject({ committed: true });
    expect((await running('leaf1'))['leaf1.frr.conf']).toContain('detect-multiplier 5');
    expect(await store.listConfigCommits(F, 'leaf1')).toHaveLength(3);
  });

  test('rollback: leaf1 back to its first committed config through the same transaction; a new history entry', async () => {
    const hist = await store.listConfigCommits(F, 'leaf1', { limit: 100 });
    expect(hist).toHaveLength(3);
    const first = hist[2];
    expect((await running('leaf1'))['leaf1.frr.conf']).toContain('detect-multiplier 5');
    const bad = await finished(await jobs.submit('rollback', F, { device: 'leaf1', version: 7 }));
    expect(bad.state).toBe('failed');
    expect(bad.error).toMatch(/rollback: device leaf1 has no config history version 7/);
    const id = await jobs.submit('rollback', F, { device: 'leaf1', version: 2, at: first.at, commitJob: first.jobId });
    const v = await finished(id);
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    expect(v.devices.leaf1.result).toMatchObject({ committed: true, version: 2, from: { at: first.at, jobId: first.jobId } });
    const after = await store.listConfigCommits(F, 'leaf1', { limit: 100 });
    expect(after).toHaveLength(4);
    expect(after[0].jobId).toBe(id);
    expect(after[0].text).toBe(first.text);
    expect(after[0].diff).toContain('-  detect-multiplier 5');
    expect((await running('leaf1'))['leaf1.frr.conf']).toBe(filesFromCommit('leaf1', first)['leaf1.frr.conf']);
  });

  test('a device whose verify fails (its bgpd is gone) is rolled back with cancel-commit; the others pass without blaming it; drift shows it', async () => {
    await store.updateFabric(F, { settings: { bfd: { intervalMs: 400, multiplier: 4 } } });
    const before = (await running('leaf2'))['leaf2.frr.conf'];
    // A real fault: leaf2's bgpd dies, so FRR cannot take the router bgp stanza at commit.
    const bgpd = recordedPids(new LabPaths(LAB, ROOT).pidFile).filter((e) => e.node === 'leaf2' && e.what === 'bgpd');
    expect(bgpd.length).toBeGreaterThan(0);
    for (const e of bgpd) { try { process.kill(e.pid, 'SIGKILL'); } catch { /* already gone */ } }
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    expect(v.state).toBe('failed');
    expect(v.devices.leaf2.state).toBe('failed');
    expect(v.devices.leaf2.error).toMatch(/^push: leaf2 .*verify failed: verify: \d of \d checks failed: BGP [\d.]+ \(spine\d on swp5\d\) is missing, not Established; (BFD [\d.]+ \(spine\d\) is missing, not up; )?BGP [\d.]+ \(spine\d on swp5\d\) is missing, not Established; .*rolled back \(cancel-commit\)$/);
    expect(v.error).toMatch(/^1 of 4 devices failed: leaf2: push: /);
    expect((await running('leaf2'))['leaf2.frr.conf']).toBe(before);
    expect(await store.listConfigCommits(F, 'leaf2')).toHaveLength(3);
    for (const dev of ['spine1', 'spine2', 'leaf1']) expect(v.devices[dev].state).toBe('succeeded');
    // The spines' sessions to leaf2 are down: notes, not failures. (leaf1 may still route to
    // leaf2's loopback: graceful restart keeps its routes for a while.)
    for (const dev of ['spine1', 'spine2']) {
      const notes = (v.devices[dev].result as { verify: { notes: string[] } }).verify.notes;
      expect(notes.filter((n) => n.startsWith('peer leaf2 not configured (its push failed): BGP '))).toHaveLength(1);
    }
    expect((await running('leaf1'))['leaf1.frr.conf']).toContain('detect-multiplier 4');
    // Drift: only leaf2 runs something else than intended.
    const drift = await computeDrift(store, F, { connectDevice: devicePush.connect });
    expect(drift.map((x) => `${x.device}:${x.drift}`)).toEqual(['leaf1:false', 'leaf2:true', 'spine1:false', 'spine2:false']);
    const d2 = drift.find((x) => x.device === 'leaf2')!;
    expect(d2.diff).toContain('-  detect-multiplier 5');
    expect(d2.diff).toContain('+  detect-multiplier 4');
    // The scheduled check records it in the fabric's events.
    const since = new Date().toISOString();
    const sched = await startDriftScheduler({ connect: () => connectRedis(server.url), store, intervalSeconds: 1, connectDevice: devicePush.connect });
    try {
      const end = Date.now() + 30_000;
      let evs: { action: string; object: string }[] = [];
      while (Date.now() < end) {
        evs = (await store.listEvents(F, { since })).items.filter((e) => e.action === 'device.drift');
        if (evs.length) break;
        await sleep(250);
      }
      expect(evs[0]).toMatchObject({ action: 'device.drift', object: 'device/leaf2' });
      expect(new Set(evs.map((e) => e.object))).toEqual(new Set(['device/leaf2']));
    } finally {
      await sched.close();
    }
  });
});
