// The store under concurrency and faults, with real processes and a real redis-server:
// 8 worker processes allocating at once, a process SIGKILLed between snapshot and commit,
// Redis restarted in the middle of a sequence of operations.
//
// The children run the COMPILED helper (dist/test/helpers/redis-store-child.js): the CI runs
// `tsc` before jest; locally run `npx tsc -p .` first.
import { fork, ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, TestRedis, dumpKeys } from '../helpers/redis';
import { Store } from '../../src/store';

const CHILD = join(__dirname, '../../dist/test/helpers/redis-store-child.js');
const EXAMPLE = readFileSync(join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8');
const fabricText = (name: string) => EXAMPLE.replace('name: dc1', `name: ${name}`);

type Msg = { ready?: boolean; done?: boolean; at?: string; op?: string; error?: string; got?: Got; stats?: { commits: number; conflicts: number } };
interface Got { loopbacks: Record<string, string>; asns: Record<string, number>; links: Record<string, string> }

interface Child { proc: ChildProcess; messages: Msg[]; next(pred: (m: Msg) => boolean, timeoutMs?: number): Promise<Msg> }

function spawnChild(task: object): Child {
  const proc = fork(CHILD, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const messages: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  proc.on('message', (m: Msg) => {
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  return {
    proc, messages,
    next: (pred, timeoutMs = 30_000) => new Promise<Msg>((resolve, reject) => {
      const seen = messages.find(pred);
      if (seen) return resolve(seen);
      const t = setTimeout(() => reject(new Error(`child ${proc.pid}: no expected message within ${timeoutMs} ms (got ${JSON.stringify(messages)})`)), timeoutMs);
      waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
      proc.once('exit', (code, sig) => { clearTimeout(t); if (!messages.find(pred)) reject(new Error(`child exited (${code ?? sig}) early: ${JSON.stringify(messages)}`)); });
    }),
  };
}

function waitExit(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

describeIf({ commands: ['redis-server'] })('store faults (real Redis, real processes)', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(CHILD)) throw new Error(`${CHILD} missing: run \`npx tsc -p .\` first (the CI does)`);
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) { c.kill('SIGKILL'); await waitExit(c); }
    await t?.stop();
  });

  const task = (mode: string, fabric: string, index = 0, count = 0) =>
    ({ mode, url: t.url, key: t.secretKey.toString('base64'), fabric, index, count });

  test('8 processes adding devices and allocating at once: no duplicate address, subnet or ASN', async () => {
    await store.createFabric(fabricText('race'));
    const before = await store.allocateFabric('race');
    const kids = Array.from({ length: 8 }, (_, i) => spawnChild(task('race', 'race', i, 6)));
    children.push(...kids.map((k) => k.proc));
    await Promise.all(kids.map((k) => k.next((m) => !!m.ready)));
    for (const k of kids) k.proc.send('go'); // all start together
    const results = await Promise.all(kids.map((k) => k.next((m) => !!m.done || !!m.error, 120_000)));
    for (const r of results) expect(r.error).toBeUndefined();
    await Promise.all(kids.map((k) => waitExit(k.proc)));

    const a = await store.getAllocations('race');
    const devices = await store.listDevices('race');
    const links = await store.listLinks('race');
    expect(devices).toHaveLength(6 + 8 * 6);
    expect(links).toHaveLength(8 + 8 * 6 * 2);
    // Every device and link allocated, all values distinct.
    expect(Object.keys(a.loopbacks).sort()).toEqual(devices.map((d) => d.name).sort());
    expect(Object.keys(a.asns).sort()).toEqual(devices.map((d) => d.name).sort());
    expect(new Set(Object.values(a.loopbacks)).size).toBe(54);
    expect(new Set(Object.values(a.asns)).size).toBe(54);
    expect(Object.keys(a.links)).toHaveLength(8 + 96);
    expect(new Set(Object.values(a.links)).size).toBe(8 + 96);
    expect(links.every((l) => !!l.subnet)).toBe(true);
    // Nothing renumbered: what was there before and what each process saw still stands.
    for (const [d, ip] of Object.entries(before.loopbacks)) expect(a.loopbacks[d]).toBe(ip);
    for (const r of results) {
      for (const [d, ip] of Object.entries(r.got!.loopbacks)) expect(a.loopbacks[d]).toBe(ip);
      for (const [d, asn] of Object.entries(r.got!.asns)) expect(a.asns[d]).toBe(asn);
      for (const [k, c] of Object.entries(r.got!.links)) expect(a.links[k]).toBe(c);
    }
    // The race was real: commits collided and were retried.
    const conflicts = results.reduce((n, r) => n + r.stats!.conflicts, 0);
    const commits = results.reduce((n, r) => n + r.stats!.commits, 0);
    // 6 addDevice + 6 addLinks each; the final allocateFabric writes only where something was left.
    expect(commits).toBeGreaterThanOrEqual(8 * 6 * 2 + 1);
    expect(commits).toBeLessThanOrEqual(8 * (6 * 2 + 1));
    expect(conflicts).toBeGreaterThan(0);
  }, 180_000);

  test('a process SIGKILLed between snapshot and commit of a rename leaves every key as it was', async () => {
    await store.createFabric(fabricText('crash1'));
    await store.allocateFabric('crash1');
    await store.upsertDiscoveredDevice('crash1', { serial: 'SIM0101', ports: [{ name: 'swp51' }] });
    await store.hostKeyStore('crash1').set('leaf1', 'SHA256:x');
    const before = await dumpKeys(redis, 'fz:f:crash1:*');
    const k = spawnChild(task('crash-rename', 'crash1'));
    children.push(k.proc);
    await k.next((m) => !!m.ready);
    k.proc.send('go');
    const at = await k.next((m) => m.at === 'beforeCommit');
    expect(at.op).toBe('renameDevice'); // proven mid-flight: snapshot read, new state computed
    k.proc.kill('SIGKILL');
    await waitExit(k.proc);
    expect(k.proc.signalCode).toBe('SIGKILL');
    expect(await dumpKeys(redis, 'fz:f:crash1:*')).toEqual(before);
    // The fabric is not stuck: the same rename from here succeeds, whole.
    await store.renameDevice('crash1', 'leaf1', 'renamed-leaf1');
    expect((await store.getDevice('crash1', 'renamed-leaf1'))).toMatchObject({ serial: 'SIM0101', hostKey: 'SHA256:x' });
  });

  test('a process SIGKILLed between steps: earlier steps whole, the interrupted one absent', async () => {
    await store.createFabric(fabricText('crash2'));
    const alloc0 = await store.allocateFabric('crash2');
    const ver0 = (await store.getInventory('crash2')).version;
    const ev0 = (await store.listEvents('crash2', { limit: 1000 })).items.length;
    const k = spawnChild(task('crash-sequence', 'crash2'));
    children.push(k.proc);
    await k.next((m) => !!m.ready);
    k.proc.send('go');
    expect((await k.next((m) => m.at === 'beforeCommit')).op).toBe('allocateFabric');
    k.proc.kill('SIGKILL');
    await waitExit(k.proc);

    const inv = await store.getInventory('crash2');
    expect(inv.version).toBe(ver0 + 2); // addDevice + addLinks committed, allocate did not
    expect(inv.allocations).toEqual(alloc0);
    expect(inv.devices.find((d) => d.name === 'late1')).toMatchObject({ profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    expect(inv.links.filter((l) => l.b.device === 'late1')).toEqual([{ a: { device: 'spine1', port: 'swp40' }, b: { device: 'late1', port: 'swp51' } }]);
    expect((await store.listEvents('crash2', { limit: 1000 })).items.slice(ev0).map((e) => e.action)).toEqual(['device.added', 'links.added']);
    // Re-running the interrupted step completes it.
    const a = await store.allocateFabric('crash2');
    expect(a.loopbacks.late1).toBeDefined();
    expect(Object.keys(a.links)).toHaveLength(9);
  });

  test('a SIGKILLed job holder: its refreshed lock outlives the TTL while it lives, then expires', async () => {
    await store.createFabric(fabricText('lockkill'));
    const k = spawnChild(task('lock', 'lockkill'));
    children.push(k.proc);
    await k.next((m) => !!m.ready);
    k.proc.send('go');
    const holder = (await k.next((m) => m.at === 'locked')).op!;
    // Alive: refreshed past several TTLs (600 ms), still held, others refused with its id.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await store.getFabricLock('lockkill')).toBe(holder);
    expect(await store.acquireFabricLock('lockkill', 'job-other', 60_000)).toEqual({ ok: false, heldBy: holder });
    k.proc.kill('SIGKILL');
    await waitExit(k.proc);
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) { await new Promise((r) => setTimeout(r, 50)); gone = (await store.getFabricLock('lockkill')) === null; }
    expect(gone).toBe(true);
    expect(await store.acquireFabricLock('lockkill', 'job-other', 60_000)).toEqual({ ok: true });
    await store.releaseFabricLock('lockkill', 'job-other');
  });

  test('Redis restarted in the middle of a sequence: the client reconnects, pending and later operations succeed, data kept (AOF)', async () => {
    await store.createFabric(fabricText('restart'));
    await store.allocateFabric('restart');
    const pid0 = t.pid;
    // Stop Redis; an operation issued while it is down waits (no error) and completes after the restart.
    await t.server().stop();
    expect(await store.ping(300)).toBe(false);
    let settled = false;
    const pending = store.addDevice('restart', { name: 'leaf9', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] }, { allocate: true })
      .finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    await t.restart(); // same port, same data dir
    expect(t.pid).not.toBe(pid0);
    const dev = await pending;
    expect(dev.name).toBe('leaf9');
    // Everything written before the restart is still there, and the next operations succeed.
    const a = await store.getAllocations('restart');
    expect(Object.keys(a.loopbacks)).toHaveLength(7);
    expect(Object.keys(a.links)).toHaveLength(8);
    await store.addLinks('restart', [{ a: { device: 'spine1', port: 'swp9' }, b: { device: 'leaf9', port: 'swp51' } }]);
    expect(Object.keys((await store.allocateFabric('restart')).links)).toHaveLength(9);
    expect(await store.ping()).toBe(true);

    // And once more with a hard kill (SIGKILL) after the AOF's fsync second has passed.
    await new Promise((r) => setTimeout(r, 1200));
    await t.restart({ hard: true });
    expect((await store.listDevices('restart')).map((d) => d.name)).toContain('leaf9');
    expect(Object.keys((await store.getAllocations('restart')).links)).toHaveLength(9);
  });
});
