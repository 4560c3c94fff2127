// Job records written by Lua scripts run by SHA (EVALSHA): the device steps are declared by one
// script (idempotent on re-plan), and a Redis that lost its script cache (a restart, SCRIPT
// FLUSH) still takes every write (NOSCRIPT falls back to EVAL). Device writes made at once are
// sent together (one script call per batch): none is lost, each caller learns whether to stop.
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { JobRecords } from '../../src/jobs';

describeIf({ commands: ['redis-server'] })('job record scripts (real Redis)', () => {
  let t: TestRedis;
  let redis: Redis;
  beforeAll(async () => { t = await startTestRedis(); redis = t.client(); });
  afterAll(async () => { await t?.stop(); });

  test('declareDevices: plan, each device\'s steps in order, finalize; a re-plan adds only what is new', async () => {
    const r = new JobRecords(redis);
    await r.create('rs1', 'autoconfigure', 'f', {});
    await r.declareDevices('rs1', ['leaf1', 'leaf2'], ['render', 'push']);
    await r.deviceDone('rs1', 'leaf1', { state: 'succeeded', progress: 1 }, { render: 'succeeded', push: 'succeeded' }, 'ok');
    // Re-plan (a worker died after planning): leaf1 keeps its outcome, leaf3 is added.
    await r.declareDevices('rs1', ['leaf1', 'leaf2', 'leaf3'], ['render', 'push']);
    const v = (await r.get('rs1'))!;
    expect(v.steps.map((s) => `${s.device ?? ''}|${s.name}`)).toEqual([
      '|plan', 'leaf1|render', 'leaf1|push', 'leaf2|render', 'leaf2|push', '|finalize', 'leaf3|render', 'leaf3|push',
    ]);
    expect(v.steps.filter((s) => s.device === 'leaf1').map((s) => s.state)).toEqual(['succeeded', 'succeeded']);
    expect(v.devices).toEqual({
      leaf1: { state: 'succeeded', progress: 1 },
      leaf2: { state: 'queued', progress: 0 },
      leaf3: { state: 'queued', progress: 0 },
    });
    expect(await redis.hget('job:rs1', 'devices')).toBe('3');
  });

  test('after SCRIPT FLUSH every write still lands', async () => {
    const r = new JobRecords(redis);
    await r.create('rs2', 'autoconfigure', 'f', {});
    await r.declareDevices('rs2', ['d1'], ['noop']);
    await redis.script('FLUSH');
    await r.declareDevices('rs2', ['d1', 'd2'], ['noop']);
    expect(await r.deviceStep('rs2', 'd2', { noop: 'running' }, 0)).toBe(false);
    await redis.script('FLUSH');
    await r.deviceDone('rs2', 'd1', { state: 'succeeded', progress: 1 }, { noop: 'succeeded' }, 'succeeded');
    const v = (await r.get('rs2'))!;
    expect(v.devices).toEqual({ d1: { state: 'succeeded', progress: 1 }, d2: { state: 'running', progress: 0 } });
    expect(v.log.map((l) => l.message)).toContain('succeeded');
  });
  test('device writes made at once (more than one call holds) all land, in order per device; a cancel stops them all', async () => {
    const r = new JobRecords(redis);
    await r.create('rs3', 'autoconfigure', 'f', {});
    const devices = Array.from({ length: 1200 }, (_, i) => `d${i}`);
    const steps = ['render', 'record', 'push'];
    await r.declareDevices('rs3', devices, steps);
    const stops = await Promise.all(devices.map((d) => r.deviceStep('rs3', d, { render: 'running' }, 0)));
    expect(stops.every((s) => s === false)).toBe(true);
    await Promise.all(devices.map((d, i) => r.deviceDone('rs3', d, i % 2 ? { state: 'succeeded', progress: 1 } : { state: 'failed', progress: 0.5, error: `push: ${d}` },
      { render: 'succeeded', record: 'succeeded', push: i % 2 ? 'succeeded' : 'failed' }, i % 2 ? 'succeeded' : `failed at push: ${d}`)));
    const v = (await r.get('rs3', { logLimit: 10_000 }))!;
    expect(Object.keys(v.devices)).toHaveLength(1200);
    expect(v.devices.d7).toEqual({ state: 'succeeded', progress: 1 });
    expect(v.devices.d8).toEqual({ state: 'failed', progress: 0.5, error: 'push: d8' });
    expect(v.steps.filter((s) => s.device === 'd8').map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(v.steps.filter((s) => s.state !== 'succeeded' && s.device).length).toBe(600);
    expect(v.log.filter((l) => l.device).map((l) => l.message).sort()).toEqual(devices.map((d, i) => (i % 2 ? 'succeeded' : `failed at push: ${d}`)).sort());

    await r.create('rs4', 'autoconfigure', 'f', {});
    await r.declareDevices('rs4', devices.slice(0, 100), ['noop']);
    await r.requestCancel('rs4');
    const told = await Promise.all(devices.slice(0, 100).map((d) => r.deviceStep('rs4', d, { noop: 'running' }, 0)));
    expect(told.every((s) => s === true)).toBe(true);
    expect((await r.get('rs4'))!.devices.d99.state).toBe('running');
  });
});
