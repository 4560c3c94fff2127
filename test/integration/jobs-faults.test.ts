// Faults mid-flight. (1) A worker process SIGKILLed while a device job is inside its handler
// (proven by a barrier the handler waits on): nothing half-written, the fabric lock expires by
// its TTL, a new worker retries the device and the job finishes. (2) Redis restarted while a
// device job runs: the workers reconnect and the job finishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { ensureBuilt, ROOT } from './api-build-helper';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The plugin a worker process loads (FABRIC_JOB_PLUGINS): plain CommonJS, given the registry.
const PLUGIN = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.registerJobTypes = (types) => types.register({
  type: 'test-barrier', queue: 'autoconfigure', fabricLock: true,
  deviceSteps: [{ name: 'prepare', weight: 1 }, { name: 'write', weight: 1 }],
  attempts: 3, backoffMs: 100,
  plan: async (ctx) => ({ devices: ctx.params.devices.map((device) => ({ device })) }),
  runDevice: async (ctx) => {
    const r = ctx.services.redis;
    if (ctx.params.hold.includes(ctx.device)) {
      await r.rpush('t:' + ctx.device + ':reached', String(process.pid));
      for (let i = 0; i < 1500 && !(await r.get('t:release')); i++) await sleep(20);
    }
    await ctx.step('write');
    // the device's output is one MULTI: all or nothing
    await r.multi().hset('t:result:' + ctx.device, { a: '1', b: '2', pid: String(process.pid) }).exec();
    return { pid: process.pid };
  },
});
`;

describeIf({ commands: ['redis-server'] })('job faults (real Redis, worker processes)', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  const types = new JobTypes();
  let dir: string;
  const children: ChildProcess[] = [];

  const finished = (id: string) => until<JobView>(`job ${id} to finish`, async () => {
    const v = await jobs.get(id);
    return v && ['succeeded', 'failed', 'cancelled'].includes(v.state) ? v : undefined;
  }, 30_000);

  function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/workers/main.js')], {
      env: {
        ...process.env, REDIS_URL: t.url, DATA_DIR: dir, FABRIC_JOB_PLUGINS: path.join(dir, 'plugin.js'),
        JOB_LOCK_MS: '1500', FABRIC_LOCK_TTL_MS: '2000', JOB_CONCURRENCY: '4', LOG_LEVEL: 'warn',
        FABRIC_SECRET_KEY: t.secretKey.toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => { out += d.toString(); });
    child.stderr!.on('data', (d) => { out += d.toString(); });
    return until('worker ready', async () => {
      if (child.exitCode !== null) throw new Error(`worker exited: ${out}`);
      return /fabric worker: ready/.test(out) ? child : undefined;
    });
  }

  beforeAll(async () => {
    ensureBuilt();
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
    dir = mkdtempSync(path.join(tmpdir(), 'fz-faults-'));
    writeFileSync(path.join(dir, 'plugin.js'), PLUGIN);
    // This process only submits (no workers) for the SIGKILL test; it needs the type's routing:
    // it loads the same plugin, as an API process does.
    require(path.join(dir, 'plugin.js')).registerJobTypes(types); // eslint-disable-line @typescript-eslint/no-require-imports
    jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 2000, types });
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await jobs?.close();
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL of the worker inside a device job: nothing half-written, lock expires, the device is retried, the job finishes', async () => {
    const a = await startWorker();
    const id = await jobs.submit('test-barrier', 'fk', { devices: ['d1', 'd2', 'd3'], hold: ['d2'] });
    // mid-flight: d2 is inside its handler in worker A; d1 and d3 finished
    const reachedBy = await until('d2 inside its handler', async () => (await redis.lrange('t:d2:reached', 0, -1))[0]);
    expect(Number(reachedBy)).toBe(a.pid);
    await until('d1 and d3 done', async () => (await redis.exists('t:result:d1')) + (await redis.exists('t:result:d3')) === 2);
    expect(await store.getFabricLock('fk')).toBe(id);

    a.kill('SIGKILL');
    await until('worker A gone', async () => a.signalCode === 'SIGKILL');
    expect(await redis.exists('t:result:d2')).toBe(0); // nothing half-written
    // no live worker keeps the lock: it expires by its TTL (2 s)
    await until('fabric lock expired', async () => (await store.getFabricLock('fk')) === null, 6_000);
    expect((await jobs.get(id))!.state).toBe('running');

    const b = await startWorker();
    await redis.set('t:release', '1');
    const v = await finished(id);
    expect(v.state).toBe('succeeded');
    expect(v.devices.d2).toMatchObject({ state: 'succeeded', result: { pid: b.pid } });
    expect(await redis.lrange('t:d2:reached', 0, -1)).toEqual([String(a.pid), String(b.pid)]);
    expect(await redis.hgetall('t:result:d2')).toEqual({ a: '1', b: '2', pid: String(b.pid) });
    expect(await redis.hgetall('t:result:d1')).toMatchObject({ a: '1', b: '2', pid: String(a.pid) });
    expect(v.result).toEqual({ devices: 3, succeeded: 3, failed: 0, cancelled: 0 });
    expect(await store.getFabricLock('fk')).toBeNull();
    b.kill('SIGTERM');
    await until('worker B stopped', async () => b.exitCode !== null, 20_000);
    expect(b.exitCode).toBe(0);
  }, 90_000);

  it('Redis restarted while a device job runs: workers reconnect and the job finishes', async () => {
    types.register<{ devices: string[] }>({
      type: 'test-restart', queue: 'autoconfigure', fabricLock: true,
      deviceSteps: [{ name: 'work', weight: 1 }, { name: 'write', weight: 1 }],
      plan: async (ctx) => ({ devices: ctx.params.devices.map((device) => ({ device })) }),
      runDevice: async (ctx) => {
        const r = ctx.services.redis;
        if (ctx.device === 'r1') {
          await r.set('t:r1:reached', '1');
          for (let i = 0; i < 1500 && !(await r.get('t:r1:release')); i++) await sleep(20);
        }
        await ctx.step('write');
        await r.set(`t:r:${ctx.device}`, 'done');
        return { ok: true };
      },
    });
    const workers = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 5000, types });
    await workers.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 2 });
    try {
      const id = await jobs.submit('test-restart', 'fr', { devices: ['r1', 'r2'] });
      await until('r1 mid-flight', async () => redis.get('t:r1:reached'));
      const pidBefore = t.pid;
      const restarting = t.restart({ downMs: 1500 });
      await sleep(500);
      expect(await store.ping(300)).toBe(false); // Redis is really down now, mid-job
      await restarting;
      expect(t.pid).not.toBe(pidBefore);
      await redis.set('t:r1:release', '1'); // waits for the reconnect (maxRetriesPerRequest: null)
      const v = await finished(id);
      expect(v.state).toBe('succeeded');
      expect(v.devices.r1).toMatchObject({ state: 'succeeded' });
      expect(await redis.get('t:r:r1')).toBe('done');
      expect(await redis.get('t:r:r2')).toBe('done');
      expect(await store.getFabricLock('fr')).toBeNull();
    } finally {
      await workers.close();
    }
  }, 90_000);
});
