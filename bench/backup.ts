// Benchmark: backup and restore of a whole store (src/store/backup.ts) on the design's fabric
// shapes, each device discovered with three ports, a host key and two config commits, against
// real local redis-servers (AOF on, everysec): one to back up, a fresh one to restore into.
//   npx tsc -p . && node dist/bench/backup.js            # 1,056 and 5,000 devices
//   node dist/bench/backup.js 1056                         # one shape
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store, startLocalRedis, connectRedis, type LocalRedis } from '../src/store';
import { generateClos, type ClosOptions } from '../src/intent/generate';

const SHAPES: Record<string, Omit<ClosOptions, 'platform'>> = {
  1056: { spines: 32, leaves: 1024, rrs: 4, pods: 8 },
  5000: { spines: 40, leaves: 4960, rrs: 4, pods: 10 },
};
const f1 = (x: number) => x.toFixed(1);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await fn();
  const d = process.cpuUsage(c);
  return [r, performance.now() - t, (d.user + d.system) / 1000];
}

async function pool(n: number, conc: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => { while (next < n) { const i = next++; await fn(i); } }));
}

async function runShape(shape: string): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), 'st-bench-backup-')), mkdtempSync(join(tmpdir(), 'st-bench-restore-'))];
  const servers: LocalRedis[] = [];
  const clients: ReturnType<typeof connectRedis>[] = [];
  try {
    for (const d of dirs) servers.push(await startLocalRedis({ dataDir: d }));
    for (const s of servers) clients.push(connectRedis(s.url));
    const key = randomBytes(32);
    const [src, dst] = clients.map((r) => new Store(r, { secretKey: key }));
    const file = generateClos({ ...SHAPES[shape], platform: 'frr' });
    const name = file.fabric.name;
    await src.createFabric(file);
    await src.allocateFabric(name);
    const devs = file.devices;
    await pool(devs.length, 50, async (i) => {
      await src.upsertDiscoveredDevice(name, {
        serial: devs[i].serial ?? `X${i}`, model: 'frr', managementIp: `172.${17 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, osVersion: '8.4',
        ports: [{ name: 'swp1', operState: 'up' }, { name: 'swp51', operState: 'up' }, { name: 'swp52', operState: 'down' }],
      });
      await src.hostKeyStore(name).set(devs[i].name, `SHA256:${randomBytes(32).toString('base64')}`);
      for (const j of [1, 2]) await src.addConfigCommit(name, devs[i].name, { jobId: `job-${j}`, text: `hostname ${devs[i].name}\n! v${j}\n`.repeat(20), platform: 'frr' });
    });

    const [bk, bkMs, bkCpu] = await timed(() => src.backup());
    const [text, sMs] = await timed(async () => JSON.stringify(bk));
    const [res, rsMs, rsCpu] = await timed(() => dst.restore(JSON.parse(text)));
    const ok = (await dst.listDevices(name)).length === devs.length && (await dst.getInventory(name)).links.length === file.links.length;
    const c = res.counts;
    console.log(`| ${shape} | ${c.devices} devices, ${c.links} links, ${c.hostKeys} host keys, ${c.configCommits} commits, ${c.events} events | ${f1(bkMs)} ms (CPU ${f1(bkCpu)} ms) | ${f1(sMs)} ms | ${(text.length / 1e6).toFixed(1)} MB | ${f1(rsMs)} ms (CPU ${f1(rsCpu)} ms) | ${ok ? 'equal' : 'DIFFERENT'} |`);
  } finally {
    for (const r of clients) r.disconnect();
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const shapes = process.argv[2] ? [process.argv[2]] : Object.keys(SHAPES);
  console.log(`# backup bench ${new Date().toISOString()} node ${process.version} load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('| shape | content | backup() | JSON.stringify | file | restore() into a fresh Redis | check |\n|---|---|---|---|---|---|---|');
  for (const s of shapes) await runShape(s);
  console.log(`# load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
