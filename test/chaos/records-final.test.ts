// A job record is final once it has its final state. After a Redis outage longer than the job
// lock, BullMQ runs a device job a second time while the first run goes on (redis-kill.test.ts);
// the run that ends last must not rewrite a finished record (it did: the job's error named leaf1
// as failed while its outcome said succeeded), and is told to stop at its next step.
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { JobRecords } from '../../src/jobs';

describeIf({ commands: ['redis-server'] })('job records after the final state (real Redis)', () => {
  let t: TestRedis;
  let redis: Redis;
  beforeAll(async () => { t = await startTestRedis(); redis = t.client(); });
  afterAll(async () => { await t?.stop(); });

  test('a late device step or outcome changes nothing and says stop; before the end it is written', async () => {
    const r = new JobRecords(redis);
    await r.create('chj1', 'autoconfigure', 'chf', {});
    await r.declareDevices('chj1', ['leaf1', 'leaf2'], ['render', 'push']);
    expect(await r.deviceStep('chj1', 'leaf1', { render: 'running' }, 0.1)).toBe(false);
    await r.deviceDone('chj1', 'leaf2', { state: 'succeeded', progress: 1 }, { render: 'succeeded', push: 'succeeded' }, 'succeeded');
    await r.deviceDone('chj1', 'leaf1', { state: 'failed', progress: 0.5, error: 'push: lock denied' }, { render: 'succeeded', push: 'failed' }, 'failed');
    expect(await r.finish('chj1', 'failed', { error: '1 of 2 devices failed: leaf1: push: lock denied' })).toBe(true);
    const final = await r.get('chj1');

    expect(await r.deviceStep('chj1', 'leaf1', { push: 'running' }, 0.6, 'late')).toBe(true); // stop
    await r.deviceDone('chj1', 'leaf1', { state: 'succeeded', progress: 1 }, { push: 'succeeded' }, 'succeeded');
    const after = await r.get('chj1');
    expect(after!.devices).toEqual(final!.devices);
    expect(after!.steps).toEqual(final!.steps);
    expect(after!.log).toEqual(final!.log);
    expect(after!.devices.leaf1).toMatchObject({ state: 'failed', error: 'push: lock denied' });

    // A cancelled job that is still running says stop too, and records the step.
    await r.create('chj2', 'autoconfigure', 'chf', {});
    await r.declareDevices('chj2', ['leaf1'], ['render']);
    await r.requestCancel('chj2');
    expect(await r.deviceStep('chj2', 'leaf1', { render: 'running' }, 0)).toBe(true);
    expect((await r.get('chj2'))!.devices.leaf1.state).toBe('running');
  });
});
