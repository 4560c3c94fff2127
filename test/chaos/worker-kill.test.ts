// Chaos: a worker process SIGKILLed mid-push, at 20 different points of the autoconfigure flow,
// against one real Redis and the NETCONF simulator (2 spines + 2 leaves, each a real NETCONF
// server with commit confirmed and rollback). Every round changes the intent (the BFD interval)
// so every device has something to commit. Per kill: the barrier reports the worker's pid, the
// test SIGKILLs it and proves it is gone, a worker (new, or the one still running) resumes, and
// then what must hold is checked (test/helpers/chaos-fabric.ts `violations`): the job reaches a
// final state, the fabric lock is released, no device keeps a lock or an unconfirmed commit,
// every device runs the intended config or the one before (read over NETCONF), a device called
// succeeded runs the intended one, and the config history says what each device runs.
// Longer: CHAOS_ROUNDS=N runs the 20 kills N times, plus one kill at a random moment per extra round.
import { randomInt } from 'node:crypto';
import { describeIf } from '../helpers/env';
import { ensureChaosBuilt, startChaosFabric, until, type ChaosFabric } from '../helpers/chaos-fabric';

interface Scenario { point: string; device?: string; spare?: boolean; why: string }

const SCENARIOS: Scenario[] = [
  { point: 'plan', why: 'planning: allocations committed, nothing enqueued' },
  { point: 'enqueued', why: 'device jobs enqueued, the parent\'s phase not saved' },
  { point: 'enqueued', spare: true, why: 'the same, a second worker takes the parent over' },
  { point: 'step:render', device: 'leaf1', why: 'mid device step: render' },
  { point: 'step:record', device: 'spine1', why: 'rendered, intended config not recorded' },
  { point: 'step:push', device: 'leaf2', why: 'recorded, nothing sent to the device' },
  { point: 'tx:lock:ok', device: 'spine2', why: 'candidate locked' },
  { point: 'tx:load:ok', device: 'leaf1', why: 'between load and commit' },
  { point: 'tx:diff:ok', device: 'leaf2', why: 'validated and diffed, commit next' },
  { point: 'tx:commit-confirmed:running', device: 'spine1', why: 'commit confirmed about to be sent' },
  { point: 'tx:commit-confirmed:ok', device: 'spine2', why: 'after commit confirmed, before confirm' },
  { point: 'tx:commit-confirmed:ok', device: 'leaf1', spare: true, why: 'the same, a second worker retries the device' },
  { point: 'tx:verify:skipped', device: 'leaf2', why: 'where verify runs (the sim has no routing to verify)' },
  { point: 'tx:confirm:running', device: 'spine1', why: 'confirming commit about to be sent' },
  { point: 'tx:confirm:ok', device: 'spine2', why: 'confirmed, candidate still locked' },
  { point: 'tx:unlock:ok', device: 'leaf1', why: 'transaction over, config history not written' },
  { point: 'device:done', device: 'leaf2', why: 'pushed and recorded, the device outcome not written' },
  { point: 'finalize', why: 'every device done, finalize running' },
  { point: 'finalize', spare: true, why: 'the same, a second worker finalizes' },
  { point: 'finished', why: 'job record final, fabric lock not released yet' },
];

const ROUNDS = Math.max(1, Number(process.env.CHAOS_ROUNDS ?? 1));

describeIf({ commands: ['redis-server'] })('chaos: SIGKILL a worker mid-push (real Redis, NETCONF simulator)', () => {
  let cf: ChaosFabric;
  let n = 0;
  const kills: { point: string; ms: number }[] = [];

  beforeAll(async () => {
    ensureChaosBuilt();
    cf = await startChaosFabric({ tag: 'chwk' });
    await cf.startWorker();
  }, 300_000);
  afterAll(async () => {
    await cf?.close();
    if (kills.length) process.stdout.write(`chaos worker kills: ${kills.length}, recovery ${kills.map((k) => k.ms).sort((a, b) => a - b).join(',')} ms\n`);
  });

  for (let round = 0; round < ROUNDS; round++) {
    for (const sc of SCENARIOS) {
      const label = `${sc.point}${sc.device ? ` on ${sc.device}` : ''}${sc.spare ? ' (second worker)' : ''}`;
      test(`round ${round + 1}: SIGKILL at ${label} (${sc.why}): the job resumes and succeeds, nothing half-done`, async () => {
        await cf.changeIntent(++n);
        const before = cf.lastRunning() ?? await cf.runningAll();
        const intended = await cf.intendedAll();
        for (const d of cf.devices) expect(intended[d]).not.toEqual(before[d]); // every device has work
        while (cf.liveWorkers().length < (sc.spare ? 2 : 1)) await cf.startWorker();

        await cf.arm(sc.point, { device: sc.device, mode: 'hang' });
        const id = await cf.jobs.submit('autoconfigure', cf.F, {});
        const at = await cf.reached(sc.point);
        const victim = cf.liveWorkers().find((w) => w.pid === at.pid);
        expect(victim).toBeDefined(); // a worker process of ours is stopped at the point
        if (sc.device) expect(at.device).toBe(sc.device);
        await cf.kill(victim!); // throws unless the pid really died of SIGKILL
        const t0 = Date.now();
        if (!sc.spare) await cf.startWorker();

        expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
        const v = (await cf.jobs.get(id))!;
        kills.push({ point: sc.point, ms: Date.now() - t0 });
        expect(v.error).toBeUndefined();
        expect(v.state).toBe('succeeded');
        expect(v.result).toMatchObject({ devices: 4, succeeded: 4, failed: 0 });
      }, 180_000);
    }
    // Longer mode: kills at random moments too (an RPC in flight, between barriers).
    if (round > 0) {
      test(`round ${round + 1}: SIGKILL at a random moment of the job`, async () => {
        await cf.changeIntent(++n);
        const before = cf.lastRunning() ?? await cf.runningAll();
        const intended = await cf.intendedAll();
        while (cf.liveWorkers().length < 1) await cf.startWorker();
        const id = await cf.jobs.submit('autoconfigure', cf.F, {});
        await new Promise((r) => setTimeout(r, randomInt(0, 2500)));
        await cf.kill(cf.liveWorkers()[0]);
        await cf.startWorker();
        expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
        expect((await cf.jobs.get(id))!.state).toBe('succeeded');
      }, 180_000);
    }
  }

  test('SIGKILL at enqueued while one device fails at once (pinned host key mismatch): the re-planned job still ends, failed, naming it', async () => {
    await cf.changeIntent(++n);
    const before = cf.lastRunning() ?? await cf.runningAll();
    const intended = await cf.intendedAll();
    const pinned = await cf.store.hostKeyStore(cf.F).get('leaf2');
    await cf.store.hostKeyStore(cf.F).set('leaf2', 'SHA256:0000000000000000000000000000000000000000000');
    try {
      while (cf.liveWorkers().length < 1) await cf.startWorker();
      await cf.arm('enqueued', { mode: 'hang' });
      const id = await cf.jobs.submit('autoconfigure', cf.F, {});
      const at = await cf.reached('enqueued');
      // The stopped parent's own process runs the children meanwhile: leaf2 fails before the kill.
      await until('leaf2 failed', async () => (await cf.jobs.get(id))?.devices.leaf2?.state === 'failed', 30_000);
      await cf.kill(cf.liveWorkers().find((w) => w.pid === at.pid)!);
      await cf.startWorker();
      expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
      const v = (await cf.jobs.get(id))!;
      expect(v.state).toBe('failed');
      expect(v.error).toMatch(/^1 of 4 devices failed: leaf2: .*host key changed/);
      expect(cf.lastRunning()!.leaf2).toEqual(before.leaf2);
      for (const d of ['spine1', 'spine2', 'leaf1']) expect(v.devices[d].state).toBe('succeeded');
    } finally {
      if (pinned) await cf.store.hostKeyStore(cf.F).set('leaf2', pinned); else await cf.store.hostKeyStore(cf.F).delete!('leaf2');
    }
  }, 180_000);
});
