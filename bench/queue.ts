// Benchmark: trivial device jobs per second through the real queue (BullMQ on a local
// redis-server with AOF on, started in a temp dir).
//   npx tsc -p . && node dist/bench/queue.js [jobs=20000] [concurrency=100] [flowDevices=5000]
// 1. raw: addBulk (chunks of 1,000) of trivial jobs on the device queue, a Worker with the given
//    concurrency, timed from the first add to the last completion.
// 2. flow: one fabric job through the job system (parent + a child per device, job records,
//    per-device steps and log), from submit to the job's final state.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue, Worker, type ConnectionOptions } from 'bullmq';
import { startLocalRedis, connectRedis, Store } from '../src/store';
import { JobSystem, JobTypes } from '../src/jobs';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';

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

async function flow(url: string, n: number, concurrency: number): Promise<{ totalMs: number; state: string; succeeded: number }> {
  const redis = connectRedis(url);
  const store = new Store(redis, { secretKey: randomBytes(32) });
  const types = new JobTypes().register<{ n: number }>({
    type: 'bench-trivial', queue: 'autoconfigure', fabricLock: true,
    deviceSteps: [{ name: 'noop', weight: 1 }],
    plan: async (ctx) => ({ devices: Array.from({ length: ctx.params.n }, (_, i) => ({ device: `d${i}` })) }),
    runDevice: async () => undefined,
  });
  const jobs = new JobSystem({ connection: redis, connect: () => connectRedis(url), lockBackend: store, types });
  await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: tmpdir() }), logger: createLogger({ level: 'silent' }), store }, { concurrency });
  const t0 = performance.now();
  const id = await jobs.submit('bench-trivial', 'bench', { n });
  // Poll only the state (the full record of a 5,000-device job is big; reading it is not the point).
  let st = await jobs.records.state(id);
  for (let i = 0; i < 12_000 && st && !['succeeded', 'failed', 'cancelled'].includes(st); i++) {
    await sleep(50);
    st = await jobs.records.state(id);
  }
  const totalMs = performance.now() - t0;
  const v = await jobs.get(id, { logLimit: 1 });
  const succeeded = Object.values(v?.devices ?? {}).filter((d) => d.state === 'succeeded').length;
  const full = await jobs.get(id, { logLimit: 100_000 });
  const planned = full?.log.find((l) => l.message.startsWith('planned'));
  if (full && planned && full.finishedAt) {
    console.log(`  flow phases: plan+enqueue ${Date.parse(planned.at) - Date.parse(full.createdAt)} ms, devices+finalize ${Date.parse(full.finishedAt) - Date.parse(planned.at)} ms`);
  }
  await jobs.close();
  redis.disconnect();
  return { totalMs, state: v?.state ?? 'missing', succeeded };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20000);
  const concurrency = Number(process.argv[3] ?? 100);
  const flowN = Number(process.argv[4] ?? 5000);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-queue-'));
  const server = await startLocalRedis({ dataDir: dir });
  try {
    console.log(`# queue bench ${new Date().toISOString()} node ${process.version} cpus ${cpus().length} load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const r = await raw(server.url, n, concurrency);
    console.log(`raw BullMQ: ${n} trivial jobs, concurrency ${concurrency}: added in ${r.addMs.toFixed(0)} ms; all done in ${r.totalMs.toFixed(0)} ms = ${(n / (r.totalMs / 1000)).toFixed(0)} jobs/s`);
    const rf = await rawFlow(server.url, flowN, concurrency);
    console.log(`raw BullMQ flow: 1 parent + ${flowN} children (FlowProducer), concurrency ${concurrency}: ${rf.toFixed(0)} ms = ${(flowN / (rf / 1000)).toFixed(0)} child jobs/s`);
    const f = await flow(server.url, flowN, concurrency);
    console.log(`fabric flow: 1 job, ${flowN} device children (records, steps, log), concurrency ${concurrency}: ${f.state}, ${f.succeeded} succeeded in ${f.totalMs.toFixed(0)} ms = ${(flowN / (f.totalMs / 1000)).toFixed(0)} device jobs/s`);
    console.log(`# load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// exit explicitly: a client left reconnecting to the stopped server must not keep the bench alive
main().then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
