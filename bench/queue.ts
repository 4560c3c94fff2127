// Benchmark: trivial device jobs per second through the real queue (BullMQ on a local
// redis-server with AOF on, started in a temp dir).
//   npx tsc -p . && node dist/bench/queue.js [jobs=20000] [concurrency=100] [flowDevices=5000] [--procs 1,2,4] [--only flow]
//     [--redis-url redis+cluster://...]  (the fabric flow only, on that Redis: e.g. a cluster)
// 1. raw: addBulk (chunks of 1,000) of trivial jobs on the device queue, a Worker with the given
//    concurrency, timed from the first add to the last completion.
// 2. flow: one fabric job through the job system (parent + a child per device, job records,
//    per-device steps and log), from submit to the job's final state; in this process, then
//    (--procs) in 1, 2, 4 worker processes (dist/workers/main.js) while this one only submits.
//    After each: Redis commands per device job (INFO commandstats), to see where the time goes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue, Worker, type ConnectionOptions } from 'bullmq';
import { startLocalRedis, connectRedis, connectQueueRedis, isClusterUrl, queuePrefix, Store } from '../src/store';
import { JobSystem, JobTypes } from '../src/jobs';
import { BENCH_TYPE, registerJobTypes } from './queue-plugin';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';

/** Commands listed per run (BENCH_TOP=40 lists them all, to see where the time goes). */
const TOP = Number(process.env.BENCH_TOP ?? 6);
/** Node flags for the worker processes, e.g. BENCH_WORKER_ARGS='--cpu-prof --cpu-prof-dir=/tmp/x' (to see where their CPU goes). */
const WORKER_NODE_ARGS = (process.env.BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function raw(url: string, n: number, concurrency: number): Promise<{ addMs: number; totalMs: number }> {
  const conn = connectRedis(url);
  const wconn = connectRedis(url);
  const q = new Queue('bench-raw', { connection: conn as ConnectionOptions });
  let done = 0;
  let resolveDone!: () => void;
  const allDone = new Promise<void>((r) => { resolveDone = r; });
  const w = new Worker('bench-raw', async () => ({ ok: true }), {
    connection: wconn as ConnectionOptions, concurrency, autorun: true,
    removeOnComplete: { count: 0 }, // trivial jobs: keep nothing
  });
  w.on('completed', () => { if (++done === n) resolveDone(); });
  await w.waitUntilReady();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'trivial', data: { device: `d${i + k}` } }));
    await q.addBulk(chunk);
  }
  const addMs = performance.now() - t0;
  await Promise.race([allDone, sleep(600_000)]);
  const totalMs = performance.now() - t0;
  if (done !== n) throw new Error(`raw: ${done} of ${n} completed`);
  await w.close();
  await q.obliterate({ force: true });
  await q.close();
  conn.disconnect();
  wconn.disconnect();
  return { addMs, totalMs };
}

/** A bare BullMQ flow (parent + children, no job records): the queue's own cost of flows. */
async function rawFlow(url: string, n: number, concurrency: number): Promise<number> {
  const conn = connectRedis(url);
  const fp = new FlowProducer({ connection: conn as ConnectionOptions });
  const wc = connectRedis(url);
  const pc = connectRedis(url);
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const wChild = new Worker('bench-child', async () => ({ ok: true }), { connection: wc as ConnectionOptions, concurrency });
  const wParent = new Worker('bench-parent', async () => { resolveDone(); return 'done'; }, { connection: pc as ConnectionOptions });
  await Promise.all([wChild.waitUntilReady(), wParent.waitUntilReady()]);
  const t0 = performance.now();
  await fp.add({
    name: 'parent', queueName: 'bench-parent',
    children: Array.from({ length: n }, (_, i) => ({ name: 'child', queueName: 'bench-child', data: { device: `d${i}` }, opts: { ignoreDependencyOnFailure: true } })),
  });
  await Promise.race([done, sleep(600_000)]);
  const ms = performance.now() - t0;
  await wChild.close(); await wParent.close(); await fp.close();
  conn.disconnect(); wc.disconnect(); pc.disconnect();
  return ms;
}

/** Redis commands by name (calls, usec) from INFO commandstats. */
async function commandStats(r: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const line of (await r.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** CPU seconds a child process has used (/proc/<pid>/stat utime + stime, 100 ticks/s). */
function procCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return 0; }
}

/** CPU seconds redis-server has used (INFO cpu). */
async function redisCpu(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

/** What Redis did per device job between two commandstats reads: the top commands. */
function perDevice(before: Map<string, { calls: number; usec: number }>, after: Map<string, { calls: number; usec: number }>, n: number): string {
  const rows = [...after].map(([c, a]) => ({ c, calls: a.calls - (before.get(c)?.calls ?? 0), usec: a.usec - (before.get(c)?.usec ?? 0) })).filter((x) => x.calls > 0);
  const calls = rows.reduce((a, x) => a + x.calls, 0);
  const usec = rows.reduce((a, x) => a + x.usec, 0);
  rows.sort((a, b) => b.usec - a.usec);
  return `${(calls / n).toFixed(1)} commands and ${(usec / n).toFixed(0)} us of Redis time per device job; top: ${rows.slice(0, TOP).map((x) => `${x.c} ${(x.calls / n).toFixed(1)}x ${(x.usec / n).toFixed(0)}us`).join(', ')}`;
}

/** Worker processes (dist/workers/main.js with the bench's job type), each WORKER_ID bq-w<i>. */
async function startWorkerProcs(url: string, dir: string, count: number, concurrency: number): Promise<ChildProcess[]> {
  const procs: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const p = spawn(process.execPath, [...WORKER_NODE_ARGS, path.join(__dirname, '../workers/main.js')], {
      env: {
        ...process.env, REDIS_URL: url, DATA_DIR: dir, FABRIC_JOB_PLUGINS: path.join(__dirname, 'queue-plugin.js'),
        JOB_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn', WORKER_ID: `bq-w${i + 1}`, FABRIC_PUSH: 'off',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    procs.push(p);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`worker ${i + 1} not ready in 60 s: ${out}`)), 60_000);
      p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (/fabric worker: ready/.test(out)) { clearTimeout(t); resolve(); } });
      p.once('exit', (code) => { clearTimeout(t); reject(new Error(`worker ${i + 1} exited ${code}: ${out}`)); });
    });
  }
  return procs;
}

/**
 * One fabric job of `n` trivial devices: in this process (procs 0) or in `procs` worker
 * processes (this process only submits and polls).
 */
async function flow(url: string, dir: string, n: number, concurrency: number, procs: number): Promise<{ totalMs: number; state: string; succeeded: number; phases: string; redis: string }> {
  const redis = connectRedis(url);
  const store = new Store(redis, { secretKey: randomBytes(32) });
  const types = new JobTypes();
  registerJobTypes(types);
  const cluster = isClusterUrl(url);
  const jobs = new JobSystem({
    connection: redis, ...(cluster ? { queueConnection: connectQueueRedis(url) } : {}), prefix: queuePrefix(url),
    connect: () => connectQueueRedis(url), lockBackend: store, types,
  });
  const children = procs > 0 ? await startWorkerProcs(url, dir, procs, concurrency) : [];
  if (procs === 0) await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency });
  // On a cluster INFO answers from any node: the Redis figures are left out there.
  const stats0 = cluster ? new Map() : await commandStats(redis);
  const cpu0 = cluster ? 0 : await redisCpu(redis);
  const own0 = process.cpuUsage();
  const workers0 = children.reduce((a, c) => a + procCpu(c.pid!), 0);
  const t0 = performance.now();
  const id = await jobs.submit(BENCH_TYPE, `bench${procs}`, { n });
  // Poll only the state (the full record of a 5,000-device job is big; reading it is not the point).
  let st = await jobs.records.state(id);
  for (let i = 0; i < 60_000 && st && !['succeeded', 'failed', 'cancelled'].includes(st); i++) {
    await sleep(10);
    st = await jobs.records.state(id);
  }
  const totalMs = performance.now() - t0;
  const stats1 = cluster ? new Map() : await commandStats(redis);
  const redisCpuS = cluster ? 0 : (await redisCpu(redis)) - cpu0;
  const own = process.cpuUsage(own0);
  const ownS = (own.user + own.system) / 1e6;
  const workersS = children.reduce((a, c) => a + procCpu(c.pid!), 0) - workers0;
  const v = await jobs.get(id, { logLimit: 1 });
  const succeeded = Object.values(v?.devices ?? {}).filter((d) => d.state === 'succeeded').length;
  const full = await jobs.get(id, { logLimit: 100_000 });
  const planned = full?.log.find((l) => l.message.startsWith('planned'));
  const phases = full && planned && full.finishedAt
    ? `plan+enqueue ${Date.parse(planned.at) - Date.parse(full.createdAt)} ms, devices+finalize ${Date.parse(full.finishedAt) - Date.parse(planned.at)} ms`
    : '';
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await jobs.close();
  redis.disconnect();
  // Per device job: what the load of other processes changes least (the wall time it changes most).
  const nodeUs = ((procs ? workersS : ownS) / n) * 1e6;
  const perJob = `per device job: node ${nodeUs.toFixed(0)} us${cluster ? '' : `, redis-server ${((redisCpuS / n) * 1e6).toFixed(0)} us`} CPU`;
  const cpu = `CPU: redis-server ${redisCpuS.toFixed(2)} s, this process ${ownS.toFixed(2)} s${procs ? `, workers ${workersS.toFixed(2)} s` : ''} in ${(totalMs / 1000).toFixed(2)} s (${perJob})`;
  return { totalMs, state: v?.state ?? 'missing', succeeded, phases, redis: cluster ? `cluster ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${cpu.replace(/redis-server [\d.]+ s, /, '')}` : `${cpu}; ${perDevice(stats0, stats1, n)}` };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => { const i = args.indexOf(name); if (i < 0) return undefined; const v = args[i + 1]; args.splice(i, 2); return v; };
  // --procs 1,2,4: the fabric flow again in that many worker processes; --only flow: skip raw BullMQ.
  const procList = (flag('--procs') ?? '').split(',').filter(Boolean).map(Number);
  const only = flag('--only');
  // --redis-url redis+cluster://...: the fabric flow only, on that Redis (no local server).
  const given = flag('--redis-url');
  const n = Number(args[0] ?? 20000);
  const concurrency = Number(args[1] ?? 100);
  const flowN = Number(args[2] ?? 5000);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-queue-'));
  const server = given ? { url: given, stop: async () => undefined } : await startLocalRedis({ dataDir: dir });
  try {
    console.log(`# queue bench ${new Date().toISOString()} node ${process.version} cpus ${cpus().length} load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (only !== 'flow' && !given) {
      const r = await raw(server.url, n, concurrency);
      console.log(`raw BullMQ: ${n} trivial jobs, concurrency ${concurrency}: added in ${r.addMs.toFixed(0)} ms; all done in ${r.totalMs.toFixed(0)} ms = ${(n / (r.totalMs / 1000)).toFixed(0)} jobs/s`);
      const sc = connectRedis(server.url);
      const s0 = await commandStats(sc);
      const rf = await rawFlow(server.url, flowN, concurrency);
      console.log(`raw BullMQ flow: 1 parent + ${flowN} children (FlowProducer), concurrency ${concurrency}: ${rf.toFixed(0)} ms = ${(flowN / (rf / 1000)).toFixed(0)} child jobs/s`);
      console.log(`  redis: ${perDevice(s0, await commandStats(sc), flowN)}`);
      sc.disconnect();
    }
    for (const procs of [0, ...procList]) {
      const f = await flow(server.url, dir, flowN, concurrency, procs);
      const where = procs === 0 ? 'in this process' : `${procs} worker process${procs > 1 ? 'es' : ''}`;
      console.log(`fabric flow, ${where}: 1 job, ${flowN} device children (records, steps, log), concurrency ${concurrency} each: ${f.state}, ${f.succeeded} succeeded in ${f.totalMs.toFixed(0)} ms = ${(flowN / (f.totalMs / 1000)).toFixed(0)} device jobs/s (${f.phases})`);
      console.log(`  redis: ${f.redis}`);
    }
    console.log(`# load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// exit explicitly: a client left reconnecting to the stopped server must not keep the bench alive
main().then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
