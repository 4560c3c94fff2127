// `npm start` semantics on the built tree: REDIS_URL unset -> the service starts its own
// redis-server under DATA_DIR, writes an admin token (0600), serves /readyz and the API over
// real HTTP, and on SIGTERM stops fastify, workers and its redis-server. A second start on the
// same DATA_DIR keeps the token (AOF kept the hashed token).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { ensureBuilt, ROOT } from './api-build-helper';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

interface Started { child: ChildProcess; out: () => string; base: string }

async function start(dataDir: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  delete env.REDIS_URL;
  delete env.FABRIC_SECRET_KEY;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d.toString(); });
  child.stderr!.on('data', (d) => { out += d.toString(); });
  for (let i = 0; i < 300 && !/admin token/.test(out) && child.exitCode === null; i++) await sleep(100);
  const m = /API on (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(out);
  if (!m) { child.kill('SIGKILL'); throw new Error(`service did not start: ${out}`); }
  return { child, out: () => out, base: m[1] };
}

async function stop(s: Started): Promise<number | null> {
  if (s.child.exitCode !== null) return s.child.exitCode;
  s.child.kill('SIGTERM');
  for (let i = 0; i < 200 && s.child.exitCode === null; i++) await sleep(50);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
  return s.child.exitCode;
}

describeIf({ commands: ['redis-server'] })('npm start (dist/src/api/main.js, REDIS_URL unset)', () => {
  let dir: string;
  const running: Started[] = [];

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'fz-start-'));
  }, 300_000);

  afterAll(async () => {
    for (const s of running) await stop(s);
    // a redis-server this test started must not outlive it
    const pidFile = path.join(dir, 'redis/redis.pid');
    if (existsSync(pidFile)) { const pid = Number(readFileSync(pidFile, 'utf8')); if (alive(pid)) process.kill(pid, 'SIGKILL'); }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts its own Redis, writes the admin token 0600, serves the API, stops everything on SIGTERM', async () => {
    const s = await start(dir);
    running.push(s);
    const tokenFile = path.join(dir, 'admin-token');
    expect(s.out()).toContain(`admin token written to ${tokenFile}`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(s.out()).not.toContain(token);
    const redisPid = Number(readFileSync(path.join(dir, 'redis/redis.pid'), 'utf8'));
    expect(alive(redisPid)).toBe(true);

    expect(await (await fetch(`${s.base}/readyz`)).json()).toEqual({ status: 'ready' });
    const list = await fetch(`${s.base}/api/v1/fabrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ items: [] });
    expect((await fetch(`${s.base}/api/v1/fabrics`)).status).toBe(401);
    const created = await fetch(`${s.base}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer' }) });
    expect(created.status).toBe(201);

    expect(await stop(s)).toBe(0);
    for (let i = 0; i < 100 && alive(redisPid); i++) await sleep(50);
    expect(alive(redisPid)).toBe(false);
    expect(s.out()).not.toMatch(/\bat .*\.js:\d+/); // no stack trace on a clean run
  }, 60_000);

  it('a second start on the same DATA_DIR keeps the admin token and the data', async () => {
    const token = readFileSync(path.join(dir, 'admin-token'), 'utf8').trim();
    const s = await start(dir);
    running.push(s);
    expect(s.out()).toContain(`admin token in ${path.join(dir, 'admin-token')}`);
    expect(readFileSync(path.join(dir, 'admin-token'), 'utf8').trim()).toBe(token);
    const res = await fetch(`${s.base}/api/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = await res.json() as { items: { role: string }[] };
    expect(body.items.map((i) => i.role).sort()).toEqual(['admin', 'viewer']);
    expect(await stop(s)).toBe(0);
  }, 60_000);
});
