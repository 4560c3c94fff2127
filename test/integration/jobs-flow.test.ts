// Fabric flows through the real queue on a real Redis: a failing device does not hold the
// others and the job says which failed and why; only transient errors are retried; cancel;
// one fabric job at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store } from '../../src/store';
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { DEVICE_QUEUE, JobSystem, JobConflictError, JobTypes, TransientError, childJobId, type JobView } from '../../src/jobs';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

// CI machines are shared: generous bounds, still finite.
jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describeIf({ commands: ['redis-server'] })('job flows (real Redis, real BullMQ)', () => {
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let jobs: JobSystem;
  const conns: Redis[] = [];

  const finished = (id: string) => waitFor<JobView>(`job ${id} to finish`, async () => {
    const v = await jobs.get(id);
    return v && ['succeeded', 'failed', 'cancelled'].includes(v.state) ? v : undefined;
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'jobs-flow-'));
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    const connect = () => { const c = connectRedis(server.url); conns.push(c); return c; };
    const store = new Store(redis, { secretKey: randomBytes(32) });
    const types = new JobTypes();
    jobs = new JobSystem({ connection: redis, connect, lockBackend: store, lockTtlMs: 5_000, types });
    // Test job type: each device's behaviour comes from params.behave[device].
    types.register<{ behave: Record<string, string>; devices: string[] }>({
      type: 'test-flow',
      queue: 'autoconfigure',
      fabricLock: true,
      deviceSteps: [{ name: 'first', weight: 1 }, { name: 'second', weight: 3 }],
      attempts: 3,
      backoffMs: 50,
      plan: async (ctx) => ({ devices: ctx.params.devices.map((device) => ({ device })), data: { n: ctx.params.devices.length } }),
      runDevice: async (ctx) => {
        const r = ctx.services.redis;
        const tries = await r.incr(`t:${ctx.jobId}:${ctx.device}:tries`);
        const how = ctx.params.behave[ctx.device] ?? 'ok';
        if (how === 'invalid') throw new Error(`port et-0/0/99 does not exist on ${ctx.device}`);
        if (how === 'flaky' && tries < 3) throw new TransientError('connect ETIMEDOUT 127.0.0.2:830');
        if (how === 'down') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.3:830'), { code: 'ECONNREFUSED' });
        if (how === 'barrier') {
          await r.set(`t:${ctx.jobId}:${ctx.device}:reached`, '1');
          for (let i = 0; i < 600 && !(await r.get(`t:${ctx.jobId}:release`)); i++) await sleep(20);
        }
        await ctx.step('second');
        return { tries };
      },
      finalize: async (ctx) => ({ planned: (ctx.planData as { n: number }).n }),
    });
    const config = loadConfig({ DATA_DIR: dir });
    await jobs.startWorkers({ redis, config, logger: createLogger({ level: 'silent' }), store }, { concurrency: 2 });
  });

  afterAll(async () => {
    await jobs?.close();
    for (const c of conns) c.disconnect();
    redis?.disconnect();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a child per device; the failing one is named with its reason, the others succeed', async () => {
    const id = await jobs.submit('test-flow', 'f1', { devices: ['leaf1', 'leaf2', 'spine1'], behave: { leaf2: 'invalid' } });
    const v = await finished(id);
    expect(v.state).toBe('failed');
    expect(v.error).toBe('1 of 3 devices failed: leaf2: first: port et-0/0/99 does not exist on leaf2');
    expect(v.devices.leaf1.state).toBe('succeeded');
    expect(v.devices.spine1.state).toBe('succeeded');
    expect(v.devices.leaf2).toMatchObject({ state: 'failed', attempts: 1 });
    // validation errors are never retried
    expect(await redis.get(`t:${id}:leaf2:tries`)).toBe('1');
    expect(v.result).toEqual({ devices: 3, succeeded: 2, failed: 1, cancelled: 0, planned: 3 });
    expect(v.steps).toEqual([
      { name: 'plan', state: 'succeeded' },
      { name: 'first', state: 'succeeded', device: 'leaf1' },
      { name: 'second', state: 'succeeded', device: 'leaf1' },
      { name: 'first', state: 'failed', device: 'leaf2' },
      { name: 'second', state: 'skipped', device: 'leaf2' },
      { name: 'first', state: 'succeeded', device: 'spine1' },
      { name: 'second', state: 'succeeded', device: 'spine1' },
      { name: 'finalize', state: 'failed' },
    ]);
    expect(v.log.some((l) => l.device === 'leaf2' && l.message === 'failed at first: port et-0/0/99 does not exist on leaf2')).toBe(true);
    expect(await jobs.lock.holder('f1')).toBeUndefined();
  });

  it('retries transient errors with backoff and stops after the attempts', async () => {
    const id = await jobs.submit('test-flow', 'f2', { devices: ['a', 'b', 'c'], behave: { a: 'flaky', b: 'down' } });
    const v = await finished(id);
    expect(await redis.get(`t:${id}:a:tries`)).toBe('3');
    expect(await redis.get(`t:${id}:b:tries`)).toBe('3');
    expect(await redis.get(`t:${id}:c:tries`)).toBe('1');
    expect(v.devices.a).toMatchObject({ state: 'succeeded', attempts: 3, result: { tries: 3 } });
    expect(v.devices.b).toMatchObject({ state: 'failed', attempts: 3, error: 'first: connect ECONNREFUSED 127.0.0.3:830' });
    expect(v.state).toBe('failed');
    expect(v.progress).toBe(100); // finished, even though failed
    expect(v.log.filter((l) => l.device === 'a' && /retrying/.test(l.message))).toHaveLength(2);
  });

  it('succeeds with progress 100 when every device does', async () => {
    const id = await jobs.submit('test-flow', 'f3', { devices: ['x', 'y'], behave: {} });
    const v = await finished(id);
    expect(v.state).toBe('succeeded');
    expect(v.progress).toBe(100);
    expect(v.result).toEqual({ devices: 2, succeeded: 2, failed: 0, cancelled: 0, planned: 2 });
  });

  it('refuses a second fabric job while one runs (409 material: the running id), then frees the fabric', async () => {
    const id = await jobs.submit('test-flow', 'f4', { devices: ['d1'], behave: { d1: 'barrier' } });
    await waitFor('device d1 mid-flight', async () => redis.get(`t:${id}:d1:reached`));
    let err: unknown;
    try { await jobs.submit('test-flow', 'f4', { devices: ['d1'], behave: {} }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(JobConflictError);
    expect((err as JobConflictError).jobId).toBe(id);
    // another fabric is not held up
    const other = await jobs.submit('test-flow', 'f4b', { devices: ['z'], behave: {} });
    expect((await finished(other)).state).toBe('succeeded');
    expect((await jobs.get(id))!.state).toBe('running');
    await redis.set(`t:${id}:release`, '1');
    expect((await finished(id)).state).toBe('succeeded');
    const next = await jobs.submit('test-flow', 'f4', { devices: ['d1'], behave: {} });
    expect((await finished(next)).state).toBe('succeeded');
  });

  it('cancel: queued device jobs are removed, the running one stops at its next step', async () => {
    // worker concurrency 2: b1 and b2 run (held at the barrier), q1..q3 wait in the queue
    const id = await jobs.submit('test-flow', 'f5', { devices: ['b1', 'b2', 'q1', 'q2', 'q3'], behave: { b1: 'barrier', b2: 'barrier', q1: 'barrier', q2: 'barrier', q3: 'barrier' } });
    await waitFor('b1 and b2 mid-flight', async () => (await redis.get(`t:${id}:b1:reached`)) && (await redis.get(`t:${id}:b2:reached`)));
    const afterCancel = await jobs.cancel(id);
    expect(afterCancel.cancelRequested).toBe(true);
    expect(['q1', 'q2', 'q3'].map((d) => afterCancel.devices[d].state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await redis.set(`t:${id}:release`, '1');
    const v = await finished(id);
    expect(v.state).toBe('cancelled');
    expect(v.devices.b1).toMatchObject({ state: 'cancelled' });
    expect(v.devices.b2).toMatchObject({ state: 'cancelled' });
    expect(v.steps.filter((s) => s.device === 'b1')).toEqual([
      { name: 'first', state: 'succeeded', device: 'b1' },
      { name: 'second', state: 'cancelled', device: 'b1' },
    ]);
    for (const q of ['q1', 'q2', 'q3']) expect(await redis.get(`t:${id}:${q}:tries`)).toBeNull();
    expect(await jobs.lock.holder('f5')).toBeUndefined();
  });

  it('a job type with no handler fails with a clear message and frees the fabric', async () => {
    const id = await jobs.submit('onboard', 'f6', { mode: 'greenfield' });
    const v = await finished(id);
    expect(v.state).toBe('failed');
    expect(v.error).toBe("no handler is registered for job type 'onboard' (not available in this version)");
    expect(await jobs.lock.holder('f6')).toBeUndefined();
  });
  it('a re-plan adds only the device jobs that do not exist yet (a first plan: all, with no check per device)', async () => {
    // Its own queue prefix: no worker takes these jobs.
    const sys = new JobSystem({ connection: redis, connect: () => connectRedis(server.url), lockBackend: new Store(redis, { secretKey: randomBytes(32) }), types: new JobTypes(), prefix: 'replan' });
    try {
      const parent = await sys.queue('autoconfigure').add('test-flow', {}, { jobId: 'rp1' });
      const missing = (p: Job, tasks: { device: string }[]) =>
        (sys as unknown as { missingChildren(p: Job, id: string, t: { device: string }[]): Promise<{ device: string }[]> }).missingChildren(p, 'rp1', tasks);
      const tasks = ['leaf1', 'leaf2', 'leaf3'].map((device) => ({ device }));
      expect(await missing(parent, tasks)).toEqual(tasks);
      // An earlier run added leaf2 (and died before it recorded the phase): leaf2 is not added twice.
      await sys.queue(DEVICE_QUEUE).add('test-flow:device', {}, { jobId: childJobId('rp1', 'leaf2'), parent: { id: 'rp1', queue: parent.queueQualifiedName } });
      expect((await missing(parent, tasks)).map((t) => t.device)).toEqual(['leaf1', 'leaf3']);
    } finally {
      await sys.close();
    }
  });
  it('a device job whose job record is gone fails and never runs with made-up params', async () => {
    const child = await jobs.queue(DEVICE_QUEUE).add('test-flow:device', { jobId: 'no-record', type: 'test-flow', fabric: 'f9', device: 'leaf1' }, { jobId: childJobId('no-record', 'leaf1') });
    const reason = await waitFor('the orphan device job to fail', async () => ((await child.getState()) === 'failed' ? (await jobs.queue(DEVICE_QUEUE).getJob(child.id!))?.failedReason : undefined));
    expect(reason).toBe('job no-record has no record (its params are gone)');
    expect(await redis.get('t:no-record:leaf1:tries')).toBeNull();
  });
});
