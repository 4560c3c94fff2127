// bin/fabric as a user runs it (a child process) against the real service as `npm start` runs
// it (dist/src/api/main.js with its own redis-server on a fixed --redis-port): generated
// commands, --output, every validation problem listed, jobs watch over the event stream,
// the service's logs (quiet by default, job lines carry the job), and `--help` without fastify.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { describeIf } from '../helpers/env';
import { ensureBuilt, ROOT } from './api-build-helper';
import { freePort } from '../../src/store';
import { startApi, type ApiHarness } from '../helpers/api-harness';
import { main } from '../../src/cli/main';

jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BIN = path.join(ROOT, 'bin', 'fabric.js');

interface Run { code: number; out: string; err: string }

describeIf({ commands: ['redis-server'] })('bin/fabric against the real service', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let out = '';
  let base = '';
  let redisPort = 0;

  const fabric = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => new Promise((resolve) => {
    // FABRIC_API_URL as the service prints it (with /api/v1): the CLI must not double it.
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, DATA_DIR: dir, FABRIC_API_URL: `${base}/api/v1`, ...env }, timeout: 60_000 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: stdout, err: stderr });
    });
  });

  beforeAll(async () => {
    ensureBuilt(['dist/src/api/main.js', 'dist/src/cli/main.js', 'dist/src/cli/command-table.json']);
    dir = mkdtempSync(path.join(tmpdir(), 'cl-cli-svc-'));
    redisPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', FABRIC_PUSH: 'off' };
    delete env.REDIS_URL;
    delete env.REDIS_PORT;
    delete env.FABRIC_SECRET_KEY;
    child = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/main.js'), '--redis-port', String(redisPort)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { out += d.toString(); });
    child.stderr!.on('data', (d) => { out += d.toString(); });
    for (let i = 0; i < 300 && !/embedded redis on/.test(out) && child.exitCode === null; i++) await sleep(100);
    const m = /API on (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(out);
    if (!m) throw new Error(`service did not start: ${out}`);
    base = m[1];
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 200 && child.exitCode === null; i++) await sleep(50);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the embedded redis-server listens on the --redis-port given', async () => {
    expect(out).toContain(`fabric service: embedded redis on 127.0.0.1:${redisPort}\n`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: redisPort }, () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  });

  it('fabric --help and --version: no fastify loaded, version printed', async () => {
    // A preload that fails the run when a heavy module was loaded by the time it exits.
    const hook = path.join(dir, 'probe.js');
    writeFileSync(hook, `process.on('exit', () => {
  const m = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](fastify|nunjucks|ioredis|bullmq)[\\\\/]/.test(k));
  if (m.length) { process.stderr.write('loaded: ' + m[0]); process.exitCode = 3; }
});\n`);
    const probe = await new Promise<Run>((resolve) => execFile(process.execPath, ['--require', hook, BIN, '--help'],
      (e, stdout, stderr) => resolve({ code: e ? Number(e.code) : 0, out: stdout, err: stderr })));
    expect(probe.err).toBe('');
    expect(probe.code).toBe(0);
    expect(probe.out).toMatch(/^Usage: fabric /);
    const v = await fabric(['--version']);
    expect(v.out).toBe(`${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('generated commands: devices add, patch, set-roles, delete; node profiles; --output yaml and json', async () => {
    expect(await fabric(['fabrics', 'create', path.join(ROOT, 'examples', 'dc1-frr.yaml')])).toEqual({ code: 0, out: 'created fabric dc1\n', err: '' });
    const add = await fabric(['devices', 'add', 'dc1', '--name', 'leaf9', '--serial', 'CL0009', '--profile', 'frr-switch', '--physical-role', 'leaf', '--roles', 'CRB-Access']);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    expect(JSON.parse(add.out)).toMatchObject({ name: 'leaf9', serial: 'CL0009' });
    const y = await fabric(['devices', 'list', 'dc1', '--output', 'yaml']);
    const items = (load(y.out) as { items: { name: string; serial: string }[] }).items;
    expect(items.find((d) => d.name === 'leaf9')).toMatchObject({ serial: 'CL0009' });
    const p = await fabric(['devices', 'patch', 'dc1', 'leaf9', '--serial', 'CL0010', '--output', 'json']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.out).serial).toBe('CL0010');
    const r = await fabric(['devices', 'set-roles', 'dc1', 'leaf9', '--physical-role', 'leaf', '--roles', 'ERB-UCAST-Gateway']);
    expect(r.code).toBe(0);
    const show = await fabric(['devices', 'show', 'dc1', 'leaf9']);
    expect(show.out).toMatch(/^SERIAL\s+CL0010$/m);
    expect(show.out).toMatch(/^PHYSICAL ROLE\s+leaf$/m);
    expect((await fabric(['devices', 'delete', 'dc1', 'leaf9'])).code).toBe(0);
    expect((await fabric(['devices', 'show', 'dc1', 'leaf9'])).err).toBe('fabric: device "leaf9" not found in fabric "dc1"\n');
    // Tables have human headers.
    const np = await fabric(['node-profiles', 'list']);
    expect(np.out.split('\n')[0]).toMatch(/^NAME\s+VENDOR\s+PLATFORM\s+MODELS\s+SYS OBJECT IDS/);
    const dl = await fabric(['devices', 'list', 'dc1']);
    expect(dl.out.split('\n')[0]).toMatch(/MANAGEMENT IP\s+PHYSICAL ROLE\s+ROLES\s+MANAGED STATE\s+ONBOARDING STATE$/);
    const ev = await fabric(['events', 'list', 'dc1', '--output', 'json']);
    expect(JSON.parse(ev.out).items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['device.added', 'device.updated', 'device.roles', 'device.deleted']));
  });

  it('every validation problem is listed with its path, one line each, exit 1', async () => {
    const bad = path.join(dir, 'bad-device.yaml');
    writeFileSync(bad, 'name: "bad name"\nmanagementIp: not-an-ip\ncolour: red\n');
    const r = await fabric(['devices', 'add', 'dc1', '--file', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => l.startsWith('fabric: '))).toBe(true);
    expect(r.err).toMatch(/^fabric: name: /m);
    expect(r.err).toMatch(/^fabric: managementIp: /m);
    expect(r.err).toMatch(/^fabric: colour: is not a known field$/m);
    // Nothing was stored.
    expect((await fabric(['devices', 'list', 'dc1', '--output', 'json'])).out).not.toContain('bad name');
  });

  it('autoconfigure, then jobs watch follows the stream to the end; jobs list and logs', async () => {
    const a = await fabric(['autoconfigure', 'dc1']);
    expect(a.code).toBe(0);
    const id = /^job (\S+)$/m.exec(a.out)![1];
    const w = await fabric(['jobs', 'watch', id]);
    expect(w.err.trim().split('\n').pop()).toBe(`[${'#'.repeat(30)}] 100% succeeded`);
    expect(w.code).toBe(0);
    const l = await fabric(['jobs', 'list', 'dc1']);
    expect(l.out.split('\n')[0]).toMatch(/^ID\s+TYPE\s+STATE\s+PROGRESS\s+CREATED AT/);
    expect(l.out).toMatch(new RegExp(`^${id}\\s+autoconfigure\\s+succeeded\\s+100`, 'm'));
    const logs = await fabric(['jobs', 'logs', id, '--output', 'json']);
    expect(JSON.parse(logs.out).length).toBeGreaterThan(0);
    const drift = await fabric(['drift', 'list', 'dc1', '--output', 'json']);
    expect(drift.code).toBe(0);
  });

  it('the service logs milestones, not every request, and its job lines carry the job id', async () => {
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; jobId?: string; type?: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => /incoming request|request completed/.test(l.msg))).toEqual([]);
    const finished = lines.filter((l) => l.msg === 'job finished');
    expect(finished.length).toBeGreaterThan(0);
    for (const l of finished) expect(l.jobId).toMatch(/\S/);
    // Nothing at debug reaches an info-level service.
    expect(lines.every((l) => l.level >= 30)).toBe(true);
  });
});

describeIf({ commands: ['redis-server'] })('job log lines carry the job id and the device', () => {
  let h: ApiHarness;
  afterAll(async () => { await h?.stop(); });

  it('a device that fails logs its failure with jobId and device', async () => {
    h = await startApi({ workers: true, push: async (ctx) => { if (ctx.plan.name === 'leaf2') throw new Error('cl: refused by the test'); } });
    const doc = load(readFileSync(path.join(ROOT, 'examples', 'dc1-frr.yaml'), 'utf8'));
    expect((await h.call('POST', '/api/v1/fabrics', { body: doc })).status).toBe(201);
    const r = await h.call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    const job = await h.waitJob(r.json.jobId);
    expect(job.state).toBe('failed'); // the fault happened
    const parsed = h.logs.map((l) => JSON.parse(l) as { msg: string; jobId?: string; device?: string; level: number });
    const failed = parsed.filter((l) => l.msg === 'device failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ jobId: r.json.jobId, device: 'leaf2' });
    // Every line that names a device of this job names the job too.
    for (const l of parsed.filter((x) => x.device)) expect(l.jobId).toBe(r.json.jobId);
  });

  it('jobs watch reads the event stream: one job read at the end, not a poll every half second', async () => {
    await h.stop();
    // Each push takes a while, so a poller would read the job several times.
    h = await startApi({ workers: true, push: async () => { await sleep(600); } });
    const doc = load(readFileSync(path.join(ROOT, 'examples', 'dc1-frr.yaml'), 'utf8'));
    expect((await h.call('POST', '/api/v1/fabrics', { body: doc })).status).toBe(201);
    const r = await h.call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    let o = '';
    let e = '';
    const run = (args: string[]) => main(args, { out: (t) => { o += t; }, err: (t) => { e += t; }, env: { FABRIC_API_URL: h.base, FABRIC_TOKEN: h.tokens.viewer } });
    const reads = () => h.logs.filter((l) => l.includes('"msg":"request"') && l.includes('"route":"/api/v1/jobs/:id"')).length;
    const before = reads();
    expect(await run(['jobs', 'watch', r.json.jobId])).toBe(0);
    expect(e.trim().split('\n').pop()).toBe(`[${'#'.repeat(30)}] 100% succeeded`);
    expect(o).toMatch(/succeeded: 6 devices/);
    expect(reads() - before).toBe(1);
    // --poll really polls (the count above can tell the two apart).
    const r2 = await h.call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    const mid = reads();
    expect(await run(['jobs', 'watch', r2.json.jobId, '--poll'])).toBe(0);
    expect(reads() - mid).toBeGreaterThan(2);
  });
});
