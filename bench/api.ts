// Benchmark: API latency of GET /api/v1/fabrics/{f}/devices on a 1,000-device fabric, open loop
// at a fixed request rate (default 200/s for 20 s) over HTTP on 127.0.0.1. The service runs as
// `npm start` does (dist/src/api/main.js, API + workers) in its own process, on a redis-server
// this bench starts (AOF on) in a temp dir; the generator runs here.
//   npx tsc -p . && node dist/bench/api.js [rate=200] [seconds=20] [devices=1000]
// Latency is measured from each request's scheduled send time (open loop: a slow reply does not
// delay the next request, so queueing shows up in the figures instead of hiding).
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalRedis } from '../src/store/redis-server';
import { generateClos } from '../src/intent/generate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// node:http with keep-alive: a lighter client than fetch, so the generator is not the bottleneck.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function get(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function startService(redisUrl: string, dataDir: string): Promise<{ child: ChildProcess; base: string; token: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, '../src/api/main.js')], {
    env: { ...process.env, REDIS_URL: redisUrl, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  for (let i = 0; i < 300 && !/admin token/.test(out); i++) await sleep(100);
  const m = /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
  if (!m) { child.kill('SIGKILL'); throw new Error(`service did not start: ${out}`); }
  return { child, base: m[1], token: readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim() };
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 200);
  const seconds = Number(process.argv[3] ?? 20);
  const nDevices = Number(process.argv[4] ?? 1000);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-api-'));
  const redis = await startLocalRedis({ dataDir: dir });
  let svc: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    svc = await startService(redis.url, dir);
    const auth = { authorization: `Bearer ${svc.token}` };
    const spines = 32;
    const file = generateClos({ spines, leaves: nDevices - spines, rrs: 4, pods: 8, name: 'bench' });
    let t = performance.now();
    const created = await fetch(`${svc.base}/api/v1/fabrics`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(file) });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
    const createMs = performance.now() - t;
    const url = `${svc.base}/api/v1/fabrics/bench/devices`;
    const first = await fetch(url, { headers: auth });
    const body = await first.text();
    const count = (JSON.parse(body) as { items: unknown[] }).items.length;
    if (count !== nDevices) throw new Error(`expected ${nDevices} devices, got ${count}`);
    // warm-up (JIT, connection pool), closed loop: one request at a time
    const closed: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s0 = performance.now();
      await get(url, auth);
      closed.push(performance.now() - s0);
    }
    console.log(`closed loop (one at a time, 200 requests): p50 ${pct(closed, 50).toFixed(2)} ms p99 ${pct(closed, 99).toFixed(2)} ms`);

    const n = Math.round(rate * seconds);
    const interval = 1000 / rate;
    const lat: number[] = [];
    const service: number[] = [];
    let errors = 0;
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const sent = performance.now();
      pending.push(get(url, auth).then((r) => {
        const end = performance.now();
        if (r.status !== 200) errors++;
        lat.push(end - due);
        service.push(end - sent);
      }, () => { errors++; }));
    }
    await Promise.all(pending);
    const wall = (performance.now() - t0) / 1000;
    const f = (x: number) => x.toFixed(2);
    console.log(`# api bench ${new Date().toISOString()} node ${process.version} cpus ${cpus().length} load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`fabric: ${count} devices, create ${createMs.toFixed(0)} ms; reply ${(body.length / 1024).toFixed(0)} KiB`);
    console.log(`GET devices open loop ${rate}/s x ${seconds} s: ${lat.length} ok, ${errors} errors, achieved ${(lat.length / wall).toFixed(1)}/s`);
    console.log(`latency from schedule (ms): p50 ${f(pct(lat, 50))} p90 ${f(pct(lat, 90))} p99 ${f(pct(lat, 99))} max ${f(Math.max(...lat))}`);
    console.log(`latency from send (ms):     p50 ${f(pct(service, 50))} p90 ${f(pct(service, 90))} p99 ${f(pct(service, 99))} max ${f(Math.max(...service))}`);
    console.log(JSON.stringify({ rate, seconds, devices: count, replyBytes: body.length, ok: lat.length, errors, p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat) }));
  } finally {
    agent.destroy();
    if (svc) {
      svc.child.kill('SIGTERM');
      for (let i = 0; i < 100 && svc.child.exitCode === null; i++) await sleep(100);
      if (svc.child.exitCode === null) svc.child.kill('SIGKILL');
    }
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
