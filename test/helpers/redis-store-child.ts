// Child process for the store's multi-process tests (test/integration/store-faults.test.ts).
// Forked from its COMPILED form, dist/test/helpers/redis-store-child.js: the CI runs `tsc`
// before jest, so the child needs no ts-jest. Talks to the parent over the fork IPC channel.
import { Store, connectRedis } from '../../src/store';

interface Task {
  mode: 'race' | 'crash-rename' | 'crash-sequence' | 'lock';
  url: string;
  key: string; // base64
  fabric: string;
  index: number;
  count: number;
}

const task = JSON.parse(process.argv[2]) as Task;
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
const waitGo = () => new Promise<void>((resolve) => process.once('message', (m) => { if (m === 'go') resolve(); }));

async function main(): Promise<void> {
  const redis = connectRedis(task.url);
  const crash = task.mode.startsWith('crash');
  const store = new Store(redis, {
    secretKey: Buffer.from(task.key, 'base64'),
    hooks: crash ? {
      // The barrier: tell the parent we are between snapshot and commit, then hang until killed.
      beforeCommit: async (info) => {
        if (task.mode === 'crash-sequence' && info.op !== 'allocateFabric') return;
        await send({ at: 'beforeCommit', op: info.op });
        await new Promise(() => { /* never: the parent SIGKILLs us here */ });
      },
    } : undefined,
  });
  await send({ ready: true });
  await waitGo();
  const f = task.fabric;
  if (task.mode === 'race') {
    const mine: string[] = [];
    for (let j = 0; j < task.count; j++) {
      const name = `c${task.index}l${j}`;
      // Half allocate in the same write as the add, half through allocateFabric later.
      await store.addDevice(f, { name, profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] }, { allocate: j % 2 === 0 });
      await store.addLinks(f, [
        { a: { device: 'spine1', port: `swp${100 + task.index * 10 + j}` }, b: { device: name, port: 'swp51' } },
        { a: { device: 'spine2', port: `swp${100 + task.index * 10 + j}` }, b: { device: name, port: 'swp52' } },
      ]);
      mine.push(name);
    }
    const a = await store.allocateFabric(f);
    const got = {
      loopbacks: Object.fromEntries(mine.map((d) => [d, a.loopbacks[d]])),
      asns: Object.fromEntries(mine.map((d) => [d, a.asns[d]])),
      links: Object.fromEntries(Object.entries(a.links).filter(([k]) => mine.some((d) => k.includes(`${d}:`)))),
    };
    await send({ done: true, got, stats: store.stats });
  } else if (task.mode === 'lock') {
    // A job holding the fabric lock with a short TTL, refreshing it as a live worker does.
    const ok = await store.acquireFabricLock(f, `job-${process.pid}`, 600);
    if (!ok.ok) throw new Error(`lock held by ${ok.heldBy}`);
    setInterval(() => { void store.refreshFabricLock(f, `job-${process.pid}`, 600); }, 150);
    await send({ at: 'locked', op: `job-${process.pid}` });
    await new Promise(() => { /* until SIGKILL */ });
  } else if (task.mode === 'crash-rename') {
    await store.renameDevice(f, 'leaf1', 'renamed-leaf1');
    await send({ done: true }); // never reached
  } else {
    await store.addDevice(f, { name: 'late1', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    await store.addLinks(f, [{ a: { device: 'spine1', port: 'swp40' }, b: { device: 'late1', port: 'swp51' } }]);
    await store.allocateFabric(f); // killed at its barrier
    await send({ done: true });
  }
  redis.disconnect();
}

main().catch(async (e) => {
  await send({ error: String((e as Error).message) });
  process.exit(1);
});
