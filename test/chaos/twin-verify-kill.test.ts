// Chaos where verify needs a routing daemon: a worker SIGKILLed while it verifies leaf1 (BGP and
// BFD read over NETCONF from real FRR on the netns twin, the confirmed commit pending). The
// device agent sees the session end and restores the old config; a new worker pushes and
// verifies again. Same checks as the simulator kills. Needs root and FRR like the other twin
// tests (about 40 s); CHAOS_TWIN=0 skips it.
import { describeIf } from '../helpers/env';
import { ensureChaosBuilt, startChaosFabric, type ChaosFabric } from '../helpers/chaos-fabric';
import { twinPeer } from '../helpers/chaos-twin';

const d = process.env.CHAOS_TWIN !== '0'
  ? describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'redis-server'] })
  : describe.skip;

d('chaos: SIGKILL a worker mid-verify (netns twin, real FRR)', () => {
  let cf: ChaosFabric;

  beforeAll(async () => {
    ensureChaosBuilt();
    cf = await startChaosFabric({ tag: 'chtw', peer: await twinPeer() });
    await cf.startWorker();
  }, 400_000);
  afterAll(async () => { await cf?.close(); }, 120_000);

  test('first push verifies (BGP/BFD up over NETCONF)', async () => {
    const before = await cf.runningAll();
    const intended = await cf.intendedAll();
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    const v = (await cf.jobs.get(id))!;
    expect(v.error).toBeUndefined();
    expect(v.log.some((l) => l.device === 'leaf1' && /^underlay verified after/.test(l.message))).toBe(true);
  }, 300_000);

  test('SIGKILL while verifying leaf1: the agent restores, a new worker pushes and verifies again, the job succeeds', async () => {
    await cf.changeIntent(1);
    const before = cf.lastRunning()!;
    const intended = await cf.intendedAll();
    await cf.arm('verify:polled', { device: 'leaf1', mode: 'hang' });
    const id = await cf.jobs.submit('autoconfigure', cf.F, {});
    const at = await cf.reached('verify:polled', 120_000);
    const victim = cf.liveWorkers().find((w) => w.pid === at.pid)!;
    expect(victim).toBeDefined();
    await cf.kill(victim);
    await cf.startWorker();
    expect(await cf.violations({ jobs: [id], before, intended })).toEqual([]);
    const v = (await cf.jobs.get(id))!;
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    expect(await cf.runs(id, 'leaf1')).toBe(2); // verified by the second worker
  }, 300_000);
});
