// Chaos: Redis SIGKILLed mid-job and started again on the same port and data dir (AOF), with two
// real worker processes pushing to the NETCONF simulator. The workers never restart: they wait
// for Redis and go on. Proven first: the old redis-server pid is gone and Redis does not answer;
// then the same checks as the worker kills (test/helpers/chaos-fabric.ts `violations`).
// (test/integration/jobs-faults.test.ts keeps its own restart-while-a-device-runs test.)
import { randomInt } from 'node:crypto';
import { describeIf } from '../helpers/env';
import { alive, ensureChaosBuilt, startChaosFabric, until, JOB_LOCK_MS, type ChaosFabric } from '../helpers/chaos-fabric';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUNDS = Math.max(1, Number(process.env.CHAOS_ROUNDS ?? 1));

describeIf({ commands: ['redis-server'] })('chaos: SIGKILL Redis mid-job (real workers, NETCONF simulator)', () => {
  let cf: ChaosFabric;
  let n = 0;

  beforeAll(async () => {
    ensureChaosBuilt();
    cf = await startChaosFabric({ tag: 'chrk' });
    await cf.startWorker();
    await cf.startWorker();
  }, 300_000);
  afterAll(async () => { await cf?.close(); });

  /** SIGKILL redis-server, prove it is down, start it again after `downMs`. */
  async function killRedis(downMs: number): Promise<void> {
    const pid = cf.t.pid;
    const restarting = cf.t.restart({ hard: true, downMs });
    for (let i = 0; i < 200 && alive(pid); i++) await sleep(10);
    expect(alive(pid)).toBe(false);
    expect(await cf.store.ping(300)).toBe(false);
    await restarting;
    expect(cf.t.pid).not.toBe(pid);
    expect(await cf.store.ping(5000)).toBe(true);
    expect(cf.liveWorkers()).toHaveLength(2); // the workers rode it out
  }

  /** A job whose leaf1 waits between its confirmed commit and the confirm while Redis dies. */
  async function killWhileHeld(downMs: number, afterRestart?: (id: string) => Promise<void>) {
    await cf.changeIntent(++n);
    const before = cf.lastRunning() ?? await cf.runningAll();
    const intended = await cf.intendedAll();
    const history0 = (await cf.store.listConfigCommits(cf.F, 'leaf1', { limit: 100 })).length;
    await cf.arm('tx:commit-confirmed:ok', { device: 'leaf1', mode: 'hold' });
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    await cf.reached('tx:commit-confirmed:ok');
    expect(cf.simDevice('leaf1').pending).toBeDefined();
    await killRedis(downMs);
    await afterRestart?.(id);
    await cf.release('tx:commit-confirmed:ok');
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    const v = (await cf.jobs.get(id))!;
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    const history = await cf.store.listConfigCommits(cf.F, 'leaf1', { limit: 100 });
    expect(history).toHaveLength(history0 + 1); // committed once
    expect(history[0].jobId).toBe(id);
    return v;
  }

  test('SIGKILL while a device waits between its confirmed commit and the confirm: the job resumes and succeeds', async () => {
    const v = await killWhileHeld(1500);
    expect(v.devices.leaf1.state).toBe('succeeded');
  }, 180_000);

  test('down longer than the job lock: BullMQ hands the device to the other worker while the first still pushes; it waits for the device, the job succeeds', async () => {
    // The job lock expires while Redis is down; the first push is held until the device job
    // runs a second time (the fault) and that run has found the device's candidate locked.
    const waiting = (l: { device?: string; message: string }) => l.device === 'leaf1' && /^candidate locked by session \d+; waiting for it/.test(l.message);
    const v = await killWhileHeld(JOB_LOCK_MS * 2 + 1000, async (id) => {
      await until('leaf1 handed to a second run', async () => (await cf.runs(id, 'leaf1')) >= 2, 30_000, 100);
      // (Before the fix it failed at once on the locked candidate: the job then ended failed
      // while the first run was still configuring the device.)
      await until('the second run waiting for the device, or the job over', async () => {
        const v = (await cf.jobs.get(id))!;
        return v.log.some(waiting) || ['succeeded', 'failed'].includes(v.state);
      }, 30_000, 100);
    });
    expect(await cf.runs(v.id, 'leaf1')).toBe(2);
    expect(v.log.filter(waiting)).toHaveLength(1);
  }, 180_000);

  test('SIGKILL right after the job was accepted: it is not lost, and succeeds', async () => {
    await cf.changeIntent(++n);
    const before = cf.lastRunning() ?? await cf.runningAll();
    const intended = await cf.intendedAll();
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    await killRedis(1000);
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    expect((await cf.jobs.get(id))!.state).toBe('succeeded');
  }, 180_000);

  // Longer mode (CHAOS_ROUNDS=N): N-1 more kills, each at a random moment of a job.
  for (let i = 1; i < ROUNDS; i++) {
    test(`SIGKILL at a random moment of a job (${i} of ${ROUNDS - 1})`, async () => {
      await cf.changeIntent(++n);
      const before = cf.lastRunning() ?? await cf.runningAll();
      const intended = await cf.intendedAll();
      const id = await cf.jobs.submit('autoconfigure', cf.F, {});
      await sleep(randomInt(0, 1500));
      await killRedis(randomInt(200, 3000));
      expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
      expect((await cf.jobs.get(id))!.state).toBe('succeeded');
    }, 180_000);
  }

  test('a Redis restart changes no device\'s intended config (the store\'s hash order does change)', async () => {
    const first = await cf.intendedAll();
    const order = async () => (await cf.store.getFabricFile(cf.F)).file.devices.map((d) => d.name).join(',');
    const orders = new Set([await order()]);
    for (let i = 0; i < 3; i++) {
      await cf.t.restart();
      orders.add(await order());
      expect(await cf.intendedAll()).toEqual(first);
    }
    // Not asserted (it is Redis' random hash seed), only reported: how often the order moved.
    process.stdout.write(`chaos: device orders seen from the store over 4 Redis starts: ${orders.size}\n`);
  }, 120_000);
});
