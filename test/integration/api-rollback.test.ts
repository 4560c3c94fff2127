// POST /fabrics/{f}/devices/{d}/config/rollback over real HTTP on a real Redis with real workers:
// 404 for an unknown device or history version, 409 while a fabric job runs (proven mid-flight
// with the autoconfigure push hook as the barrier), 202 {jobId} for a rollback job that reaches
// the NETCONF push (this device has no management address: it stops there, nothing is sent).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';

const parse = (text: string): any => load(text);
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { pushDeviceConfig } from '../../src/jobs/push';
import { rollbackJob } from '../../src/jobs/rollback';
import { TokenStore } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

const example = parse(readFileSync(path.join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8'));
jest.setTimeout(120_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf({ commands: ['redis-server'] })('config rollback route (real HTTP, Redis, workers)', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  const types = new JobTypes().register(autoconfigureJob({})).register(rollbackJob({ push: pushDeviceConfig }));
  let app: App;
  let base: string;
  let op = '';
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(base + url, {
      method, headers: { authorization: `Bearer ${op}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const waitJob = async (id: string) => {
    for (let i = 0; i < 2400; i++) {
      const r = await call('GET', `/api/v1/jobs/${id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(r.json.state)) return r.json;
      await sleep(25);
    }
    throw new Error(`job ${id} did not finish`);
  };

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
    jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 10_000, types });
    const config = loadConfig({ DATA_DIR: t.dataDir });
    const logger = createLogger({ level: 'silent' });
    await jobs.startWorkers({ redis, config, logger, store }, { concurrency: 2 });
    const tokens = new TokenStore(redis);
    op = (await tokens.create('operator', 'test-operator')).token;
    app = await buildApp({ store, jobs, tokens, config, logger });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    await store.createFabric(example);
    await store.addConfigCommit('dc1', 'leaf1', { jobId: 'j-old', text: 'hostname leaf1\n', platform: 'frr' });
    await store.addConfigCommit('dc1', 'leaf1', { jobId: 'j-new', text: 'hostname leaf1\nrouter bgp 64603\n', platform: 'frr' });
  });

  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await t?.stop();
  });

  it('404 for an unknown device or version, 400 for a bad version', async () => {
    expect((await call('POST', '/api/v1/fabrics/dc1/devices/leaf1/config/rollback', { version: 2 })).json)
      .toMatchObject({ error: 'not_found', message: 'device "leaf1" has no config history version 2' });
    expect((await call('POST', '/api/v1/fabrics/dc1/devices/nope/config/rollback', { version: 0 })).status).toBe(404);
    expect((await call('POST', '/api/v1/fabrics/dc1/devices/leaf1/config/rollback', { version: -1 })).status).toBe(400);
  });

  it('409 while an autoconfigure runs (mid-flight)', async () => {
    types.register(autoconfigureJob({ push: async (pctx) => {
      await redis.sadd('test:pushing', pctx.device);
      for (let i = 0; i < 1500 && !(await redis.get('test:release')); i++) await sleep(20);
      return { committed: false };
    } }));
    const first = await call('POST', '/api/v1/fabrics/dc1/autoconfigure', {});
    expect(first.status).toBe(202);
    for (let i = 0; i < 500 && (await redis.scard('test:pushing')) < 1; i++) await sleep(20);
    expect(await redis.scard('test:pushing')).toBeGreaterThan(0);
    const rb = await call('POST', '/api/v1/fabrics/dc1/devices/leaf1/config/rollback', { version: 1 });
    expect(rb.status).toBe(409);
    expect(rb.json.jobId).toBe(first.json.jobId);
    await redis.set('test:release', '1');
    expect((await waitJob(first.json.jobId)).state).toBe('succeeded');
    types.register(autoconfigureJob({}));
  });

  it('202 {jobId}: a rollback job picks the pinned entry and goes through the NETCONF push', async () => {
    const rb = await call('POST', '/api/v1/fabrics/dc1/devices/leaf1/config/rollback', { version: 1 });
    expect(rb.status).toBe(202);
    const job = await waitJob(rb.json.jobId);
    expect(job.type).toBe('rollback');
    expect(job.state).toBe('failed');
    expect(job.devices.leaf1.error).toMatch(/no management address \(onboard the device first\)/);
    expect(JSON.stringify(job.log)).toContain('by job j-old');
  });
});
