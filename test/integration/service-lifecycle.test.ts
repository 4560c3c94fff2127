// The service process (`npm start`: dist/src/api/main.js) through a Redis outage and a SIGTERM.
// - Redis dies: requests answer 503 within seconds (they hung before), /healthz says redis is
//   down; Redis returns: the API serves again, nothing restarted.
// - SIGTERM while an onboarding job runs (inside a namespace of the test's own, with a real DHCP
//   server on it): the stages come in order, the local Redis goes last, no ECONNREFUSED flood,
//   exit 0 in bounded time; on the next start the interrupted job runs again.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { example } from '../helpers/api-harness';
import { ensureBuilt, ROOT } from './api-build-helper';

jest.setTimeout(240_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

interface Service { child: ChildProcess; out: () => string; base: string; token: string }

async function startService(env: NodeJS.ProcessEnv, argvPrefix: string[] = [], hostRe = /API on (http:\/\/[\d.]+:\d+)\/api\/v1/): Promise<Service> {
  const [cmd, ...pre] = argvPrefix.length ? argvPrefix : [process.execPath];
  const child = spawn(cmd, [...pre, ...(argvPrefix.length ? [process.execPath] : []), path.join(ROOT, 'dist/src/api/main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d.toString(); });
  child.stderr!.on('data', (d) => { out += d.toString(); });
  for (let i = 0; i < 300 && !/admin token/.test(out) && child.exitCode === null; i++) await sleep(100);
  const m = hostRe.exec(out);
  if (!m) { child.kill('SIGKILL'); throw new Error(`service did not start: ${out.slice(-2000)}`); }
  return { child, out: () => out, base: m[1], token: readFileSync(path.join(env.DATA_DIR!, 'admin-token'), 'utf8').trim() };
}

async function exitOf(c: ChildProcess, ms: number): Promise<number | null | 'timeout'> {
  for (let i = 0; i < ms / 50 && c.exitCode === null && c.signalCode === null; i++) await sleep(50);
  return c.exitCode ?? (c.signalCode ? null : 'timeout');
}

const api = (s: Service) => async (method: string, url: string, body?: unknown, timeoutMs = 15_000) => {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeoutMs);
  const t0 = Date.now();
  try {
    const res = await fetch(s.base + url, {
      method, signal: ctl.signal,
      headers: { authorization: `Bearer ${s.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, ms: Date.now() - t0 };
  } finally { clearTimeout(t); }
};

describeIf({ commands: ['redis-server'] })('the service through a Redis outage (external REDIS_URL)', () => {
  let t: TestRedis;
  let s: Service | undefined;
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    t = await startTestRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'fz-outage-'));
  }, 300_000);
  afterAll(async () => {
    if (s && s.child.exitCode === null) s.child.kill('SIGKILL');
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('503 within seconds while Redis is down, /healthz says so; serving again when it returns', async () => {
    s = await startService({ DATA_DIR: dir, REDIS_URL: t.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', FABRIC_SECRET_KEY: t.secretKey.toString('base64') });
    const call = api(s);
    expect((await call('GET', '/api/v1/fabrics')).status).toBe(200);
    expect(s.out()).not.toContain(t.url); // the URL carries the password
    const pid = t.pid;
    await t.server().kill();
    expect(alive(pid)).toBe(false); // the fault happened
    const down = await call('GET', '/api/v1/fabrics');
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(5000);
    expect(down.json).toMatchObject({ error: 'unavailable' });
    const health = await call('GET', '/healthz');
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ redis: 'down' });
    const write = await call('POST', '/api/v1/tokens', { role: 'viewer' });
    expect(write.status).toBe(503);
    expect(write.ms).toBeLessThan(5000);
    await t.restart({});
    let back = 0;
    for (let i = 0; i < 100 && back !== 200; i++) { back = (await call('GET', '/api/v1/fabrics')).status; if (back !== 200) await sleep(200); }
    expect(back).toBe(200);
    expect((await call('GET', '/healthz')).json).toEqual({ status: 'ok', redis: 'up' });
    expect(s.child.exitCode).toBeNull(); // the same process served through it
    expect(s.out()).not.toMatch(/Unhandled error event/);
    s.child.kill('SIGTERM');
    const code = await exitOf(s.child, 30_000);
    if (code !== 0) throw new Error(`exit ${code}: ${s.out().slice(-3000)}`);
  });
});

describeIf({ root: true, commands: ['redis-server', 'ip'] })('SIGTERM in the right order while an onboarding runs (own namespace, real DHCP server)', () => {
  const ns = `fzsd${randomBytes(3).toString('hex')}`;
  let dir: string;
  let s: Service | undefined;
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'ignore' });
  const inNs = ['ip', 'netns', 'exec', ns];
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'fz-sigterm-'));
    // The namespace: a management segment (where DHCP listens) and a veth to the test.
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // (a veth pair inside the namespace: this kernel has no dummy interfaces)
    ip('-n', ns, 'link', 'add', 'mgmt0', 'type', 'veth', 'peer', 'name', 'mgmt1');
    ip('-n', ns, 'addr', 'add', '10.99.0.1/24', 'dev', 'mgmt0');
    ip('-n', ns, 'link', 'set', 'mgmt0', 'up');
    ip('-n', ns, 'link', 'set', 'mgmt1', 'up');
    ip('link', 'add', `${ns}h`, 'type', 'veth', 'peer', 'name', 'api0', 'netns', ns);
    ip('addr', 'add', '10.98.0.1/30', 'dev', `${ns}h`);
    ip('link', 'set', `${ns}h`, 'up');
    ip('-n', ns, 'addr', 'add', '10.98.0.2/30', 'dev', 'api0');
    ip('-n', ns, 'link', 'set', 'api0', 'up');
  }, 300_000);
  afterAll(() => {
    if (s && s.child.exitCode === null) s.child.kill('SIGKILL');
    const pidFile = path.join(dir, 'redis/redis.pid');
    if (existsSync(pidFile)) { const pid = Number(readFileSync(pidFile, 'utf8')); if (alive(pid)) process.kill(pid, 'SIGKILL'); }
    try { execFileSync('ip', ['link', 'del', `${ns}h`], { stdio: 'ignore' }); } catch { /* gone with the netns */ }
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* not made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  test('stages in order, local Redis last, no reconnect flood, exit 0 in bounded time; the job runs again on the next start', async () => {
    const env = { DATA_DIR: dir, PORT: '18099', HOST: '10.98.0.2', DHCP_INTERFACE: 'mgmt0', LOG_LEVEL: 'info', REDIS_URL: '', DISCOVERY_ALLOW: '10.99.0.0/24' };
    s = await startService(env, inNs);
    const call = api(s);
    const f = example('dc1-frr');
    f.fabric.name = 'sd';
    f.fabric.namespaces.management = [{ cidr: '10.99.0.0/24', gateway: '10.99.0.1' }];
    expect((await call('POST', '/api/v1/fabrics', f)).status).toBe(201);
    const job = await call('POST', '/api/v1/fabrics/sd/onboard', { mode: 'greenfield', expectedDevices: 6, timeoutSeconds: 600 });
    expect(job.status).toBe(202);
    const id = job.json.jobId as string;
    let view;
    for (let i = 0; i < 100; i++) {
      view = (await call('GET', `/api/v1/jobs/${id}`)).json;
      if (view.log.some((l: { message: string }) => l.message.startsWith('DHCP open'))) break;
      await sleep(100);
    }
    expect(view.state).toBe('running');
    expect(view.log.map((l: { message: string }) => l.message).join('\n')).toMatch(/DHCP open for 10\.99\.0\.0\/24 on mgmt0 10\.99\.0\.1 \(builtin\)/);
    const redisPid = Number(readFileSync(path.join(dir, 'redis/redis.pid'), 'utf8'));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    expect(await exitOf(s.child, 30_000)).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(15_000);
    expect(alive(redisPid)).toBe(false);
    const out = s.out();
    const stages = ['shutdown: started', 'shutdown: stopped taking requests', 'shutdown: DHCP stopped', 'shutdown: drift scheduler stopped',
      'shutdown: workers closed', 'shutdown: queues and clients closed', 'shutdown: local redis stopped'];
    const at = stages.map((st) => out.indexOf(st));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(out).not.toMatch(/ECONNREFUSED/);
    expect(out).not.toMatch(/Unhandled error event/);

    // Next start on the same DATA_DIR: the interrupted job runs again (its record kept in the AOF).
    s = await startService(env, inNs);
    const call2 = api(s);
    let again;
    for (let i = 0; i < 150; i++) {
      again = (await call2('GET', `/api/v1/jobs/${id}`)).json;
      if (again.log.filter((l: { message: string }) => l.message.startsWith('DHCP open')).length >= 2) break;
      await sleep(200);
    }
    const msgs = again.log.map((l: { message: string }) => l.message);
    expect(msgs).toContain('planning handed back (the service is stopping); runs again on the next start');
    expect(msgs.filter((m: string) => m.startsWith('DHCP open'))).toHaveLength(2);
    expect(again.state).toBe('running');
    expect((await call2('POST', `/api/v1/jobs/${id}/cancel`)).status).toBe(202);
    s.child.kill('SIGTERM');
    expect(await exitOf(s.child, 30_000)).toBe(0);
  });
});
