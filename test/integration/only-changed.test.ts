// autoconfigure {onlyChanged}'s split (src/jobs/autoconfigure.ts) on a real Redis: a device is
// changed when its rendered config differs from its newest commit, or when the latest drift
// check found it drifted (its running config is not what it was given); a push clears that.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { splitByLastCommit } from '../../src/jobs/autoconfigure';
import { planFromStore } from '../../src/jobs/plan-from-store';
import { commitText } from '../../src/jobs/push';
import { platformModule, renderDevice } from '../../src/platforms';

const EXAMPLE = readFileSync(join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8');

describeIf({ commands: ['redis-server'] })('onlyChanged: last commit and drift', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
  });
  afterAll(async () => { await t?.stop(); });

  test('new devices are changed; committed ones are not, unless the drift check found them drifted', async () => {
    await store.createFabric(EXAMPLE.replace('name: dc1', 'name: oc1'));
    const { plans } = await planFromStore(store, 'oc1', true);
    const names = plans.map((p) => p.name).sort();
    const first = await splitByLastCommit(store, 'oc1', plans);
    expect(first.changed.map((p) => p.name).sort()).toEqual(names);
    expect(first.unchanged).toEqual([]);

    // What a push records as committed (commitText of the platform's comparable files).
    for (const p of plans) {
      const text = commitText(platformModule(p.platform).comparableIntended(p.name, renderDevice(p).files));
      await store.addConfigCommit('oc1', p.name, { jobId: 'j1', text, platform: p.platform });
    }
    const second = await splitByLastCommit(store, 'oc1', plans);
    expect(second.changed).toEqual([]);
    expect(second.unchanged.sort()).toEqual(names);

    // The drift check found leaf2 drifted (and could not read spine1: its last answer stays).
    await store.recordDrift('oc1', [['leaf2', true], ['leaf1', false]]);
    const third = await splitByLastCommit(store, 'oc1', plans);
    expect(third.changed.map((p) => p.name)).toEqual(['leaf2']);
    expect(third.drifted).toEqual(['leaf2']);

    // The next check (or a push) finds it back in line.
    await store.recordDrift('oc1', [['leaf2', false]]);
    expect((await splitByLastCommit(store, 'oc1', plans)).changed).toEqual([]);

    // The drift set is a fabric cache: deleting the fabric deletes it.
    await store.recordDrift('oc1', [['leaf3', true]]);
    expect(await store.listDrifted('oc1')).toEqual(new Set(['leaf3']));
    await store.deleteFabric('oc1');
    expect(await redis.exists('fz:f:oc1:drift')).toBe(0);
  });
});
