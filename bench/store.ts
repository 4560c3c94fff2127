// Benchmark: the Redis store on the design's fabric shapes, against a real local redis-server
// (AOF on, everysec) started in a temp dir.
//   npx tsc -p . && node dist/bench/store.js            # 1,056 and 5,000 devices
//   node dist/bench/store.js 1056                         # one shape
// Timed: createFabric (validate + one atomic write), allocateFabric from empty, getFabricFile,
// listDevices / listDevicesRaw latency (closed loop, then open loop at 200 requests/s), discovery
// upserts and state updates at concurrency 50, an addDevice+allocate on the full fabric.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Store, startLocalRedis, connectRedis } from '../src/store';
import { generateClos, ClosOptions } from '../src/intent/generate';

const SHAPES: Record<string, Omit<ClosOptions, 'platform'>> = {
  1056: { spines: 32, leaves: 1024, rrs: 4, pods: 8 },
  5000: { spines: 40, leaves: 4960, rrs: 4, pods: 10 },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

let lastCpuMs = 0;
/** Wall ms; the process CPU ms of the same call lands in lastCpuMs (the machine is shared). */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await fn();
  const d = process.cpuUsage(c);
  lastCpuMs = (d.user + d.system) / 1000;
  return [r, performance.now() - t];
}
const cpu = () => `, CPU ${f1(lastCpuMs)} ms`;

async function pool<T>(n: number, conc: number, fn: (i: number) => Promise<T>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) { const i = next++; await fn(i); }
  }));
  return performance.now() - t;
}

/** Open loop: one request every 1000/rate ms for `seconds`; latency from the scheduled start. */
async function openLoop(rate: number, seconds: number, fn: () => Promise<unknown>): Promise<number[]> {
  const n = rate * seconds;
  const lat: number[] = [];
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(fn().then(() => { lat.push(performance.now() - at); }));
  }
  await Promise.all(inflight);
  return lat;
}

/** The i-th device's address inside generateClos' management namespace (172.16.0.0/12, .1 the gateway). */
const mgmtIp = (i: number) => `172.${16 + ((i + 2) >> 16)}.${((i + 2) >> 8) & 255}.${(i + 2) & 255}`;

async function runShape(shape: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fz-bench-store-'));
  const server = await startLocalRedis({ dataDir: dir });
  const redis = connectRedis(server.url);
  try {
    const store = new Store(redis, { secretKey: randomBytes(32) });
    const file = generateClos({ ...SHAPES[shape], platform: 'frr' });
    const name = file.fabric.name;
    const out: string[] = [];
    const line = (k: string, v: string) => { out.push(`| ${shape} | ${k} | ${v} |`); };

    const [, createMs] = await timed(() => store.createFabric(file));
    line('createFabric (validate + 1 atomic write)', `${f1(createMs)} ms${cpu()} (${file.devices.length} devices, ${file.links.length} links)`);
    const [alloc, allocMs] = await timed(() => store.allocateFabric(name));
    line('allocateFabric from empty', `${f1(allocMs)} ms${cpu()} (${Object.keys(alloc.loopbacks).length} loopbacks, ${Object.keys(alloc.links).length} /31s)`);
    const [, ffMs] = await timed(() => store.getFabricFile(name));
    line('getFabricFile', `${f1(ffMs)} ms${cpu()}`);

    for (const [label, fn] of [['listDevices', () => store.listDevices(name)], ['listDevicesRaw', () => store.listDevicesRaw(name)]] as const) {
      for (let i = 0; i < 50; i++) await fn(); // warm-up
      const lat: number[] = [];
      let cpuSum = 0;
      for (let i = 0; i < 500; i++) { const [, ms] = await timed(fn as () => Promise<unknown>); lat.push(ms); cpuSum += lastCpuMs; }
      line(`${label} closed loop, 500 calls`, `p50 ${f2(pct(lat, 50))} ms, p99 ${f2(pct(lat, 99))} ms, CPU ${f2(cpuSum / 500)} ms/call`);
      const open = await openLoop(200, 10, fn as () => Promise<unknown>);
      line(`${label} at 200 req/s for 10 s`, `p50 ${f2(pct(open, 50))} ms, p99 ${f2(pct(open, 99))} ms`);
    }

    // Reload path: a device changed before every list (the cache reloads, re-parsing one record).
    const reload: number[] = [];
    let reloadCpu = 0;
    for (let i = 0; i < 200; i++) {
      await store.updateDevice(name, file.devices[i % file.devices.length].name, { osVersion: `r${i}` });
      const [, ms] = await timed(() => store.listDevices(name));
      reload.push(ms);
      reloadCpu += lastCpuMs;
    }
    line('listDevices right after a device write (reload), 200 calls', `p50 ${f2(pct(reload, 50))} ms, p99 ${f2(pct(reload, 99))} ms, CPU ${f2(reloadCpu / 200)} ms/call`);

    const before = { ...store.stats };
    const devs = file.devices;
    const upMs = await pool(devs.length, 50, (i) => store.upsertDiscoveredDevice(name, {
      serial: devs[i].serial ?? `X${i}`, model: 'frr', managementIp: mgmtIp(i),
      osVersion: '8.4', ports: [{ name: 'swp1', operState: 'up' }, { name: 'swp2', operState: 'up' }],
    }));
    line('discovery upserts, concurrency 50', `${Math.round((devs.length / upMs) * 1000)} /s (${devs.length} in ${f1(upMs)} ms, ${store.stats.conflicts - before.conflicts} conflicts)`);
    const stMs = await pool(devs.length, 50, (i) => store.updateDevice(name, devs[i].name, { managedState: 'active', onboardingState: 'underlay_configured' }));
    line('state updates, concurrency 50', `${Math.round((devs.length / stMs) * 1000)} /s (${f1(stMs)} ms)`);
    const [, addMs] = await timed(() => store.addDevice(name, { name: 'extra-leaf', profile: 'frr-switch', physicalRole: 'leaf', roles: [] }, { allocate: true }));
    line('addDevice + allocate on the full fabric', `${f1(addMs)} ms${cpu()}`);
    const info = await redis.info('memory');
    const mem = /used_memory_human:(\S+)/.exec(info)?.[1];
    line('Redis used memory', String(mem));
    console.log(out.join('\n'));
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const shapes = process.argv[2] ? [process.argv[2]] : Object.keys(SHAPES);
  console.log(`# store bench ${new Date().toISOString()} node ${process.version} load ${loadavg().map(f2).join(' ')}`);
  console.log('| shape | measure | result |\n|---|---|---|');
  for (const s of shapes) await runShape(s);
  console.log(`# load after ${loadavg().map(f2).join(' ')}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
