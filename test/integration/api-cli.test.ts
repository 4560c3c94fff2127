// The CLI's API commands against the real service over HTTP (real Redis, real workers).
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store, freePort } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { TokenStore } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { main } from '../../src/cli/main';

jest.setTimeout(120_000);

describeIf({ commands: ['redis-server'] })('fabric CLI: API commands', () => {
  let t: TestRedis;
  let jobs: JobSystem;
  let app: App;
  let base: string;
  let dir: string;
  let admin: string;
  let viewer: string;

  const run = async (args: string[], env: Record<string, string> = {}) => {
    let out = '';
    let err = '';
    const code = await main(args, {
      out: (s) => { out += s; }, err: (s) => { err += s; },
      env: { FABRIC_API_URL: base, FABRIC_TOKEN: admin, ...env },
    });
    return { code, out, err };
  };

  beforeAll(async () => {
    t = await startTestRedis();
    const redis = t.client();
    const store = new Store(redis, { secretKey: t.secretKey });
    // No devices answer NETCONF here: autoconfigure without the push (the twin tests cover it).
    jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, types: new JobTypes().register(autoconfigureJob({})) });
    const config = loadConfig({ DATA_DIR: t.dataDir });
    const logger = createLogger({ level: 'silent' });
    await jobs.startWorkers({ redis, config, logger, store }, { concurrency: 4 });
    const tokens = new TokenStore(redis);
    admin = (await tokens.create('admin')).token;
    viewer = (await tokens.create('viewer')).token;
    app = await buildApp({ store, jobs, tokens, config, logger });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    dir = mkdtempSync(path.join(tmpdir(), 'fz-cli-'));
    copyFileSync(path.join(__dirname, '../../examples/dc1-frr.yaml'), path.join(dir, 'dc1.yaml'));
  });

  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fabrics create/list/show, devices list, roles set', async () => {
    expect(await run(['fabrics', 'create', path.join(dir, 'dc1.yaml')])).toEqual({ code: 0, out: 'created fabric dc1\n', err: '' });
    const l = await run(['fabrics', 'list']);
    expect(l.out.split('\n')[1]).toMatch(/^dc1\s+64512\s+\d{4}-/);
    const s = await run(['fabrics', 'show', 'dc1']);
    expect(JSON.parse(s.out)).toMatchObject({ name: 'dc1', devices: 6, links: 8 });
    expect(s.out).not.toContain('s3cret');
    const d = await run(['devices', 'list', 'dc1']);
    expect(d.out.trim().split('\n')).toHaveLength(7);
    expect(d.out).toMatch(/^leaf1\s+SIM0101\s+frr-switch\s+-\s+leaf\s+CRB-Access\s+dhcp/m);
    const r = await run(['roles', 'set', 'dc1', 'leaf4', '--physical', 'leaf', '--roles', 'ERB-UCAST-Gateway,CRB-Access']);
    expect(r).toEqual({ code: 0, out: 'leaf4: leaf ERB-UCAST-Gateway,CRB-Access\n', err: '' });
    const lean = await run(['roles', 'set', 'dc1', 'leaf4', '--physical', 'leaf']);
    expect(lean.out).toBe('leaf4: leaf (lean)\n');
  });

  it('autoconfigure --wait follows the job to the end with a progress line, exit 0', async () => {
    const r = await run(['autoconfigure', 'dc1', '--wait']);
    expect(r.code).toBe(0);
    const id = /^job (\S+)$/m.exec(r.out)![1];
    expect(r.out).toContain('leaf1: push not available yet');
    const lines = r.err.trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`[${'#'.repeat(30)}] 100% succeeded`);
    const show = await run(['jobs', 'show', id]);
    expect(show.out.split('\n')[0]).toBe(`job ${id} (autoconfigure): succeeded 100%`);
    const f = await run(['jobs', 'show', id, '--follow']);
    expect(f.code).toBe(0);
    const cfg = await run(['devices', 'config', 'dc1', 'spine1']);
    expect(cfg.out).toMatch(/^# spine1\.frr\.conf \(frr\)\nfrr version/);
  });

  it('tokens create/list/revoke', async () => {
    const c = await run(['tokens', 'create', 'operator', '--name', 'ci']);
    expect(c.code).toBe(0);
    const token = c.out.trim();
    expect(token).toMatch(/^fzt_/);
    const id = /^token (\w+) \(operator\)/.exec(c.err)![1];
    const l = await run(['tokens', 'list']);
    expect(l.out).toMatch(new RegExp(`^${id}\\s+operator\\s+ci`, 'm'));
    expect(l.out).not.toContain(token);
    expect((await run(['tokens', 'revoke', id])).out).toBe(`revoked token ${id}\n`);
    const after = await run(['fabrics', 'list'], { FABRIC_TOKEN: token });
    expect(after).toEqual({ code: 1, out: '', err: 'fabric: invalid or revoked token\n' });
  });

  it('errors are one line with a non-zero exit', async () => {
    expect(await run(['fabrics', 'show', 'nope'])).toEqual({ code: 1, out: '', err: 'fabric: fabric "nope" not found\n' });
    expect(await run(['fabrics', 'delete', 'dc1'], { FABRIC_TOKEN: viewer })).toEqual({ code: 1, out: '', err: 'fabric: this needs the admin role; the token has viewer\n' });
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'fabric: {name: dc9, credentials: {username: a, password: b}, namespaces: {management: [], loopback: [], fabric: [], asn: []}}\ndevices:\n  - {name: x, profile: frr-switch, physicalRole: router}\n');
    const b = await run(['fabrics', 'create', bad]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/^fabric: devices\[0\]\.physicalRole: [^\n]+\n$/);
    const closed = await freePort(); // nobody listens there
    const un = await run(['fabrics', 'list'], { FABRIC_API_URL: `http://127.0.0.1:${closed}` });
    expect(un).toEqual({ code: 1, out: '', err: `fabric: cannot reach the service at http://127.0.0.1:${closed} (ECONNREFUSED); set FABRIC_API_URL\n` });
    const none = await run(['fabrics', 'list'], { FABRIC_TOKEN: '', DATA_DIR: dir });
    expect(none.err).toBe('fabric: missing bearer token (Authorization: Bearer <token>) (no token: set FABRIC_TOKEN or DATA_DIR with an admin-token file)\n');
    // the token file in DATA_DIR is the default
    writeFileSync(path.join(dir, 'admin-token'), `${admin}\n`);
    expect((await run(['fabrics', 'list'], { FABRIC_TOKEN: '', DATA_DIR: dir })).code).toBe(0);
    const fail = await run(['fabrics', 'delete', 'dc1']);
    expect(fail).toEqual({ code: 0, out: 'deleted fabric dc1\n', err: '' });
    const ac = await run(['autoconfigure', 'dc1', '--wait']);
    expect(ac).toEqual({ code: 1, out: '', err: 'fabric: fabric "dc1" not found\n' });
  });
});
