// Chaos: the NETCONF session of a push broken mid-commit, between a real worker process and the
// simulator, by a TCP relay in front of leaf1 (test/helpers/tcp-relay.ts). The worker stops at a
// barrier with the confirmed commit done, the test breaks the session, the push goes on:
//  - partition (nothing passes, neither end told) as the confirming commit is sent: the confirm
//    never arrives, the device's confirm timer fires and restores the old config;
//  - link reset (both ends told) before the confirm: the device rolls back as the session ends;
//  - only the replies lost: the confirm arrives and is applied, its answer never comes back.
// Each proves the fault (a live session was frozen or cut; the device's own events say what it
// did), then checks the job says what the device runs, and that a re-run repairs the fabric.
import { describeIf } from '../helpers/env';
import { ensureChaosBuilt, startChaosFabric, until, ENDPOINTS, type ChaosFabric, type Files } from '../helpers/chaos-fabric';
import { startRelay, type TcpRelay } from '../helpers/tcp-relay';
import type { DeviceEvent } from '../../src/lab/netconf-server';

const CONFIRM_S = 4;

describeIf({ commands: ['redis-server'] })('chaos: NETCONF session dropped mid-commit (real worker, NETCONF simulator)', () => {
  let cf: ChaosFabric;
  let relay: TcpRelay;
  let n = 0;
  const events: DeviceEvent[] = [];

  beforeAll(async () => {
    ensureChaosBuilt();
    cf = await startChaosFabric({ tag: 'chsd', workerEnv: { CHAOS_CONFIRM_S: String(CONFIRM_S), CHAOS_RPC_MS: '3000' } });
    const leaf1 = cf.peer.devices.find((d) => d.name === 'leaf1')!;
    relay = await startRelay(cf.peer.endpoint('leaf1'));
    await cf.redis.hset(ENDPOINTS, leaf1.address, `127.0.0.1:${relay.port}`);
    cf.simDevice('leaf1').on('event', (e: DeviceEvent) => events.push(e));
    await cf.startWorker();
  }, 300_000);
  afterAll(async () => {
    await relay?.close();
    await cf?.close();
  });

  /** A job that stops at `point` on leaf1; `fault` breaks its session there; then it goes on. */
  async function breakAt(point: string, fault: () => number) {
    await cf.changeIntent(++n);
    const before = cf.lastRunning() ?? await cf.runningAll();
    const intended = await cf.intendedAll();
    events.length = 0;
    await cf.arm(point, { device: 'leaf1', mode: 'hold' });
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    await cf.reached(point);
    expect(cf.simDevice('leaf1').pending).toBeDefined(); // the confirmed commit is live on the device
    expect(fault()).toBe(1); // leaf1's one session went through the relay, and it is broken now
    await cf.release(point);
    const v = await cf.finished(id, 90_000);
    return { id, v, before, intended };
  }

  /** the partition heals: the frozen session ends, the device learns it (and drops its lock) */
  const heal = () => relay.cut();

  async function healAndRerun(): Promise<void> {
    heal();
    await until('leaf1 idle', async () => Object.keys(cf.simDevice('leaf1').locks).length === 0, 10_000);
    await cf.changeIntent(++n);
    const before = cf.lastRunning() ?? await cf.runningAll();
    const intended = await cf.intendedAll();
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    expect((await cf.jobs.get(id))!.state).toBe('succeeded');
  }

  const others = (v: { devices: Record<string, { state: string }> }) => ['spine1', 'spine2', 'leaf2'].map((d) => v.devices[d].state);

  test('partition as the confirming commit is sent: the device\'s confirm timer restores the old config; the job fails naming it', async () => {
    const { id, v, before, intended } = await breakAt('tx:confirm:running', () => relay.freeze('both'));
    const rolled = events.find((e) => e.type === 'rollback');
    expect(rolled).toMatchObject({ type: 'rollback', reason: 'timeout' }); // the confirm timer fired
    expect(events.some((e) => e.type === 'confirm')).toBe(false);
    heal(); // until the partition heals, the device keeps the session (and its candidate lock)
    expect(await cf.violations({ jobs: [id], before, intended: { ...intended, leaf1: before.leaf1 } })).toEqual([]);
    expect(cf.lastRunning()!.leaf1).toEqual(before.leaf1 as Files);
    expect(v.state).toBe('failed');
    expect(v.devices.leaf1.state).toBe('failed');
    expect(v.devices.leaf1.error).toMatch(/confirm failed: .*rolled back by its confirm timer: it runs the previous config/);
    expect(others(v)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await healAndRerun();
  }, 180_000);

  test('link reset after the confirmed commit: the device rolls back as the session ends; the job fails naming it', async () => {
    const { id, v, before, intended } = await breakAt('tx:commit-confirmed:ok', () => relay.cut());
    expect(events.find((e) => e.type === 'rollback')).toMatchObject({ reason: 'session-end' });
    expect(await cf.violations({ jobs: [id], before, intended: { ...intended, leaf1: before.leaf1 } })).toEqual([]);
    expect(v.state).toBe('failed');
    expect(v.devices.leaf1.error).toMatch(/rollback left to the device/);
    expect(others(v)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    await healAndRerun();
  }, 180_000);

  test('only the replies lost as the confirm is sent: the device takes it; the job finds that out and says so', async () => {
    const { id, v, before, intended } = await breakAt('tx:confirm:running', () => relay.freeze('replies'));
    expect(events.filter((e) => e.type === 'confirm')).toHaveLength(1); // the confirm arrived
    expect(events.some((e) => e.type === 'rollback')).toBe(false);
    heal();
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    expect(cf.lastRunning()!.leaf1).toEqual(intended.leaf1);
    expect(v.state).toBe('succeeded');
    expect(v.log.some((l) => l.device === 'leaf1' && /confirming commit got no reply.*still runs the intended config/.test(l.message))).toBe(true);
    await healAndRerun();
  }, 180_000);
});
