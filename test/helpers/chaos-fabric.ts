// The chaos tests' world: one real Redis, the NETCONF simulator (real NETCONF over SSH, a
// datastore with commit confirmed and rollback) for a 2x2 spine-leaf fabric, the fabric in the
// store, and real worker processes (`dist/workers/main.js` + the chaos plugin, which puts
// barriers on the flow). The test process only submits jobs and looks: it reads every device's
// running config over NETCONF and checks what must hold after a fault (`violations`).
// Everything it makes carries the caller's tag; close() stops processes by pid and removes it all.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from './redis';
import { ensureBuilt } from '../integration/api-build-helper';
import { ARM, RELEASE, REACHED, RUNS, ENDPOINTS, type Arm, type Reached } from './chaos-plugin';
import { runSim, type Sim } from '../../src/lab/sim';
import type { NetconfDevice } from '../../src/lab/netconf-server';
import { NetconfClient } from '../../src/netconf/client';
import { Store, connectQueueRedis, isClusterUrl, queuePrefix } from '../../src/store';
import { JobSystem, JobTypes, FINAL_STATES, type JobView } from '../../src/jobs';
import { planFromStore } from '../../src/jobs/plan-from-store';
import { commitText, comparableIntended, diffFiles, readRunning } from '../../src/jobs/push';
import { renderDevice } from '../../src/platforms';

export const ROOT = path.join(__dirname, '../..');
export const WORKER = path.join(ROOT, 'dist/workers/main.js');
export const PLUGIN = path.join(ROOT, 'dist/test/helpers/chaos-plugin.js');
const CREDS = { username: 'admin', password: 'chaos-pass1' };
/** BullMQ job lock and fabric lock TTL of the workers: a dead worker is noticed in a few seconds. */
export const JOB_LOCK_MS = 1500;
export const FABRIC_LOCK_TTL_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The workers run compiled code: build when dist/ is missing or older than what they load. */
export function ensureChaosBuilt(): void {
  const mtime = (p: string) => { try { return statSync(path.join(ROOT, p)).mtimeMs; } catch { return 0; } };
  ensureBuilt([path.relative(ROOT, WORKER), path.relative(ROOT, PLUGIN)]);
  if (mtime('test/helpers/chaos-plugin.ts') > mtime(path.relative(ROOT, PLUGIN))) {
    try { execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore', timeout: 240_000 }); } catch { /* type errors still emit */ }
  }
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms: number, everyMs = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export interface WorkerProc { proc: ChildProcess; pid: number; output(): string }
export type Files = Record<string, string>;
const same = (a: Files | undefined, b: Files | undefined) => JSON.stringify(a) === JSON.stringify(b);

export interface ChaosFabric {
  F: string;
  t: TestRedis;
  redis: Redis;
  store: Store;
  /** submits and reads jobs; runs no worker itself */
  jobs: JobSystem;
  peer: ChaosPeer;
  devices: string[];
  dir: string;
  workers: WorkerProc[];
  startWorker(env?: Record<string, string>): Promise<WorkerProc>;
  /** SIGKILL, then proof: the exit says SIGKILL and the pid no longer exists */
  kill(w: WorkerProc): Promise<void>;
  liveWorkers(): WorkerProc[];
  arm(point: string, arm: Arm): Promise<void>;
  release(point: string): Promise<void>;
  /** next barrier report for `point` (waits) */
  reached(point: string, ms?: number): Promise<Reached>;
  /** how many times a device handler started for this job (any worker) */
  runs(jobId: string, device: string): Promise<number>;
  /** a change every device must take (the BFD interval) */
  changeIntent(n: number): Promise<void>;
  simDevice(name: string): NetconfDevice;
  /** a device's running config, read over NETCONF, as comparable files */
  running(device: string): Promise<Files>;
  runningAll(): Promise<Record<string, Files>>;
  /** what the last `violations` read from the devices (nothing changes them between jobs) */
  lastRunning(): Record<string, Files> | undefined;
  /** what autoconfigure would push now, as comparable files */
  intendedAll(): Promise<Record<string, Files>>;
  finished(id: string, ms?: number): Promise<JobView>;
  /** what must hold once the jobs are over; [] when everything did */
  violations(o: { jobs: string[]; before: Record<string, Files>; intended: Record<string, Files> }): Promise<string[]>;
  close(): Promise<void>;
}

/** The devices the chaos tests push to: the simulator (default) or a twin (chaos-twin.ts). */
export interface ChaosPeer {
  devices: { name: string; serial: string; role: 'spine' | 'leaf'; address: string }[];
  /** [a, b] as "device:port" */
  links: string[][];
  management: { cidr: string; gateway: string };
  credentials: { username: string; password: string };
  /** where this process reaches a device's NETCONF server */
  endpoint(device: string): { host: string; port: number };
  /** managementIp -> "host:port" where the workers reach it instead (relays), if any */
  workerEndpoints?: Record<string, string>;
  /** the simulator, when the peer is one (its devices' locks and pending commits are checked) */
  sim?: Sim;
  /** worker settings the peer needs (CHAOS_*) */
  workerEnv?: Record<string, string>;
  close(): Promise<void>;
}

/** The NETCONF simulator: 2 spines + 2 leaves (or `leaves`, at most 10: .14 is the gateway) on a random /28 of 127/8 and a random high port. */
export async function simPeer(o: { leaves?: number } = {}): Promise<ChaosPeer> {
  let sim: Sim | undefined;
  let port = 0;
  let cidr = '';
  for (let i = 0; i < 5 && !sim; i++) {
    port = randomInt(20_000, 60_000);
    cidr = `127.${randomInt(150, 250)}.${randomInt(0, 250)}.0/28`;
    sim = await runSim({ spines: 2, leaves: Math.min(10, o.leaves ?? 2), cidr, netconfPort: port, snmp: false, credentials: CREDS }).catch(() => undefined);
  }
  if (!sim) throw new Error('chaos: could not start the simulator');
  const addr = new Map(sim.devices.map((d) => [d.name, d.address]));
  const s = sim;
  return {
    devices: sim.devices.map((d) => ({ name: d.name, serial: d.serial, role: d.role, address: d.address })),
    links: sim.links.map((k) => k.split('--')),
    management: { cidr, gateway: sim.devices[0].address.replace(/\.\d+$/, '.14') },
    credentials: CREDS,
    endpoint: (device) => ({ host: addr.get(device)!, port }),
    sim,
    workerEnv: { CHAOS_NETCONF_PORT: String(port) },
    close: () => s.stop(),
  };
}

/** Another Redis than the one-server default (a cluster: redis-cluster.ts); t.restart()/server() then do not exist. */
export type ChaosRedis = Pick<TestRedis, 'url' | 'client' | 'secretKey' | 'stop'>;

export async function startChaosFabric(o: { tag: string; workerEnv?: Record<string, string>; peer?: ChaosPeer; redis?: ChaosRedis }): Promise<ChaosFabric> {
  const F = `${o.tag}f`;
  const dir = mkdtempSync(path.join(tmpdir(), `${o.tag}-`));
  const t = (o.redis ?? await startTestRedis()) as TestRedis;
  const redis = t.client();
  const store = new Store(redis, { secretKey: t.secretKey });
  const peer = o.peer ?? await simPeer();
  const sim = peer.sim;
  const devices = peer.devices.map((d) => d.name);
  await store.createFabric({
    fabric: {
      name: F, credentials: peer.credentials, snmp: { community: 'chaos-ro' },
      namespaces: { management: [peer.management], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/24'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
    },
    devices: peer.devices.map((d) => ({
      name: d.name, serial: d.serial, profile: 'frr-switch', physicalRole: d.role,
      roles: d.role === 'spine' ? ['Route-Reflector'] : ['CRB-Access'], managementIp: d.address,
    })),
    links: peer.links,
  });
  for (const [ip, ep] of Object.entries(peer.workerEndpoints ?? {})) await redis.hset(ENDPOINTS, ip, ep);
  // Allocated once up front, as after onboarding: the tests predict each job's intended configs,
  // and a fresh fabric's first allocation follows Redis' hash order, which a restart may change.
  await store.allocateFabric(F);
  // Submits only: the workers are processes. On a cluster the queues take their own connection and prefix (runtime.ts).
  const cluster = isClusterUrl(t.url);
  const jobs = new JobSystem({
    connection: redis, ...(cluster ? { queueConnection: connectQueueRedis(t.url) } : {}), prefix: queuePrefix(t.url),
    connect: () => t.client(), lockBackend: store, lockTtlMs: FABRIC_LOCK_TTL_MS, types: new JobTypes(),
  });
  const workers: WorkerProc[] = [];

  const startWorker = async (env: Record<string, string> = {}): Promise<WorkerProc> => {
    const proc = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env, REDIS_URL: t.url, DATA_DIR: dir, FABRIC_JOB_PLUGINS: PLUGIN,
        JOB_LOCK_MS: String(JOB_LOCK_MS), FABRIC_LOCK_TTL_MS: String(FABRIC_LOCK_TTL_MS), JOB_CONCURRENCY: '8',
        LOG_LEVEL: 'warn', FABRIC_SECRET_KEY: t.secretKey.toString('base64'),
        ...peer.workerEnv, ...o.workerEnv, ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => { out = (out + d.toString()).slice(-8000); };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const w: WorkerProc = { proc, pid: proc.pid!, output: () => out };
    workers.push(w);
    await until('worker ready', async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`worker exited: ${out}`);
      return /fabric worker: ready/.test(out);
    }, 30_000, 50);
    return w;
  };

  const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
  const kill = async (w: WorkerProc): Promise<void> => {
    w.proc.kill('SIGKILL');
    await until(`worker ${w.pid} to die`, async () => exited(w.proc), 10_000, 10);
    if (w.proc.signalCode !== 'SIGKILL') throw new Error(`worker ${w.pid} ended by ${w.proc.signalCode ?? w.proc.exitCode}, not SIGKILL`);
    if (alive(w.pid)) throw new Error(`worker ${w.pid} still exists after SIGKILL`);
  };

  const connect = (device: string) => NetconfClient.connect({
    ...peer.endpoint(device), deviceId: device, ...peer.credentials, connectTimeoutMs: 20_000, rpcTimeoutMs: 20_000,
  });
  const running = async (device: string): Promise<Files> => {
    const c = await connect(device);
    try { return await readRunning(c, device, 'frr'); } finally { await c.close(); }
  };
  const runningAll = async () => Object.fromEntries(await Promise.all(devices.map(async (d) => [d, await running(d)] as const)));
  const intendedAll = async () => {
    const { plans } = await planFromStore(store, F, false);
    return Object.fromEntries(plans.map((p) => [p.name, comparableIntended(p.name, p.platform, renderDevice(p).files)]));
  };
  const finished = (id: string, ms = 60_000) => until(`job ${id} to finish`, async () => {
    const v = await jobs.get(id);
    return v && FINAL_STATES.includes(v.state) ? v : undefined;
  }, ms, 100);

  let last: Record<string, Files> | undefined;
  const violations = async (v: { jobs: string[]; before: Record<string, Files>; intended: Record<string, Files> }): Promise<string[]> => {
    const bad: string[] = [];
    // Zero lost jobs: every job reaches a final state, and BullMQ holds nothing unfinished.
    const views: JobView[] = [];
    for (const id of v.jobs) {
      try { views.push(await finished(id, 90_000)); } catch (e) { bad.push(`job ${id} lost: ${(e as Error).message}; record ${JSON.stringify(await jobs.get(id, { logLimit: 20 }))}`); }
    }
    for (const view of views) {
      if (view.state === 'failed' && !view.error) bad.push(`job ${view.id} failed without a reason`);
      for (const [d, out] of Object.entries(view.devices)) {
        if (out.state === 'queued' || out.state === 'running') bad.push(`job ${view.id}: ${d} left ${out.state}`);
      }
    }
    try {
      await until('queues to drain', async () => {
        const c = await jobs.counts();
        return Object.values(c).every((q) => (q.active ?? 0) + (q.waiting ?? 0) + (q.delayed ?? 0) + (q['waiting-children'] ?? 0) + (q.prioritized ?? 0) === 0);
      }, 15_000, 100);
    } catch { bad.push(`queues not drained: ${JSON.stringify(await jobs.counts())}`); }
    // The fabric lock is released in the end.
    try { await until('fabric lock released', async () => (await store.getFabricLock(F)) === null, 15_000, 50); } catch {
      bad.push(`fabric lock still held by ${await store.getFabricLock(F)}`);
    }
    // No device keeps a lock or an unconfirmed commit (a dead session's are undone by the device).
    for (const d of sim ? devices : []) {
      const dev = simDevice(d);
      try { await until(`${d} idle`, async () => !dev.pending && Object.keys(dev.locks).length === 0, 15_000, 50); } catch {
        bad.push(`${d}: ${dev.pending ? 'confirmed commit still pending' : ''} locks ${JSON.stringify(dev.locks)}`);
      }
    }
    // Read the records again now that nothing runs: a late write by a stale run shows here, and
    // the record must be one story (the summary written at the end matches the device outcomes).
    for (let i = 0; i < views.length; i++) views[i] = (await jobs.get(views[i].id)) ?? views[i];
    for (const view of views) {
      const count = (st: string) => Object.values(view.devices).filter((o) => o.state === st).length;
      const sum = view.result as { succeeded?: number; failed?: number } | undefined;
      if (sum && (sum.succeeded !== count('succeeded') || sum.failed !== count('failed'))) {
        bad.push(`job ${view.id}: result says ${sum.succeeded} succeeded / ${sum.failed} failed, the devices ${count('succeeded')} / ${count('failed')}`);
      }
    }
    // Zero half-configured devices: running is the intended config or the one before, and a
    // device a job calls succeeded runs the intended one. Read over NETCONF.
    const now = await runningAll();
    last = now;
    for (const d of devices) {
      const isNew = same(now[d], v.intended[d]);
      if (!isNew && !same(now[d], v.before[d])) {
        bad.push(`${d}: running is neither the intended config nor the one before; against intended:\n${diffFiles(v.intended[d], now[d]).slice(0, 1500)}`);
      }
      for (const view of views) {
        if (view.devices[d]?.state === 'succeeded' && !isNew) bad.push(`job ${view.id} says ${d} succeeded but it runs ${same(now[d], v.before[d]) ? 'the old' : 'another'} config`);
      }
      // The config history says what the device runs (a rollback job reads it back).
      const last = (await store.listConfigCommits(F, d, { limit: 1 }))[0];
      if (last && last.text !== commitText(now[d])) bad.push(`${d}: newest config-history entry (job ${last.jobId}) is not what the device runs`);
      if (!last && !same(now[d], v.before[d])) bad.push(`${d}: a config was committed but the history is empty`);
    }
    for (const view of views) {
      if (view.state === 'succeeded' && devices.some((d) => view.devices[d] && !same(now[d], v.intended[d]))) bad.push(`job ${view.id} succeeded but not every device runs the intended config`);
    }
    return bad;
  };

  const simDevice = (name: string) => {
    const dev = sim?.netconf?.devices.get(name);
    if (!dev) throw new Error(`no sim device ${name}`);
    return dev;
  };

  return {
    F, t, redis, store, jobs, peer, devices, dir, workers,
    startWorker, kill,
    liveWorkers: () => workers.filter((w) => !exited(w.proc)),
    arm: async (point, arm) => { await redis.multi().del(RELEASE(point)).set(ARM(point), JSON.stringify(arm)).exec(); },
    release: async (point) => { await redis.set(RELEASE(point), '1'); },
    reached: (point, ms = 60_000) => until(`a worker at ${point}`, async () => {
      const all = await redis.lrange(REACHED, 0, -1);
      const i = all.findIndex((s) => (JSON.parse(s) as Reached).point === point);
      if (i < 0) return undefined;
      await redis.lrem(REACHED, 1, all[i]);
      return JSON.parse(all[i]) as Reached;
    }, ms, 20),
    runs: async (jobId, device) => (await redis.lrange(RUNS, 0, -1)).map((r) => JSON.parse(r) as Reached).filter((r) => r.jobId === jobId && r.device === device).length,
    changeIntent: async (n) => { await store.updateFabric(F, { settings: { bfd: { intervalMs: 300 + 10 * n, multiplier: 3 } } }); },
    simDevice, running, runningAll, intendedAll, finished, violations, lastRunning: () => last,
    async close() {
      for (const w of workers) if (!exited(w.proc)) w.proc.kill('SIGTERM');
      for (const w of workers) {
        try { await until('worker stop', async () => exited(w.proc), 10_000, 50); } catch { w.proc.kill('SIGKILL'); }
      }
      await jobs.close().catch(() => undefined);
      await peer.close().catch(() => undefined);
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { ENDPOINTS };
