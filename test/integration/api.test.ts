// The REST API over real HTTP (127.0.0.1, random port) on a real Redis with real workers: every route's happy
// path, schema errors (400 with the JSON path), auth (401 no/bad token, 403 wrong role),
// conflicts (409, with the running job's id), and no secret in any reply.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';

const parse = (text: string): any => load(text);
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { removeDeviceJob } from '../../src/jobs/decommission/job';
import { TokenStore, type Role } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

const example = parse(readFileSync(path.join(__dirname, '../../examples/dc1-frr.yaml'), 'utf8'));
// CI machines are shared: generous bounds, still finite.
jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf({ commands: ['redis-server'] })('REST API (real HTTP, real Redis and workers)', () => {
  let t: TestRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  /** autoconfigure without a push; a test swaps in a barrier push and back */
  const types = new JobTypes().register(autoconfigureJob({})).register(removeDeviceJob());
  let app: App;
  let base: string;
  /** Raw request (own headers/body). */
  const raw = async (method: string, url: string, headers: Record<string, string>, body?: string) => {
    const res = await fetch(base + url, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { statusCode: res.status, body: await res.text() };
  };
  const tok: Record<Role, string> = { viewer: '', operator: '', admin: '' };

  const call = async (method: string, url: string, opts: { role?: Role | 'none' | 'bad'; body?: unknown } = {}) => {
    const role = opts.role ?? 'admin';
    const headers: Record<string, string> = {};
    if (role === 'bad') headers.authorization = 'Bearer fzt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    else if (role !== 'none') headers.authorization = `Bearer ${tok[role]}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + url, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, json, text, headers: Object.fromEntries(res.headers.entries()) };
  };

  const waitJob = async (id: string, states = ['succeeded', 'failed', 'cancelled']) => {
    for (let i = 0; i < 2400; i++) {
      const r = await call('GET', `/api/v1/jobs/${id}`, { role: 'viewer' });
      if (states.includes(r.json.state)) return r.json;
      await sleep(25);
    }
    throw new Error(`job ${id} did not reach ${states.join('|')}`);
  };

  beforeAll(async () => {
    t = await startTestRedis();
    redis = t.client();
    store = new Store(redis, { secretKey: t.secretKey });
    // No devices answer NETCONF here: autoconfigure without the push (the twin tests cover it).
    jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 10_000, types });
    const config = loadConfig({ DATA_DIR: t.dataDir });
    const logger = createLogger({ level: 'silent' });
    await jobs.startWorkers({ redis, config, logger, store }, { concurrency: 2 });
    const tokens = new TokenStore(redis);
    for (const r of ['viewer', 'operator', 'admin'] as Role[]) tok[r] = (await tokens.create(r, `test-${r}`)).token;
    app = await buildApp({ store, jobs, tokens, config, logger });
    // Real HTTP on 127.0.0.1 (light-my-request's ESM dependency does not load under jest).
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await jobs?.close();
    await t?.stop();
  });

  // ------------------------------------------------------------------ auth on every route
  const ROUTES: [string, string, Role][] = [
    ['GET', '/api/v1/fabrics', 'viewer'],
    ['POST', '/api/v1/fabrics', 'admin'],
    ['GET', '/api/v1/fabrics/dc1', 'viewer'],
    ['PATCH', '/api/v1/fabrics/dc1', 'admin'],
    ['DELETE', '/api/v1/fabrics/dc1', 'admin'],
    ['GET', '/api/v1/fabrics/dc1/namespaces', 'viewer'],
    ['PUT', '/api/v1/fabrics/dc1/namespaces', 'admin'],
    ['GET', '/api/v1/fabrics/dc1/devices', 'viewer'],
    ['POST', '/api/v1/fabrics/dc1/devices', 'admin'],
    ['GET', '/api/v1/fabrics/dc1/devices/leaf1', 'viewer'],
    ['PATCH', '/api/v1/fabrics/dc1/devices/leaf1', 'operator'],
    ['DELETE', '/api/v1/fabrics/dc1/devices/leaf1', 'admin'],
    ['PUT', '/api/v1/fabrics/dc1/devices/leaf1/roles', 'operator'],
    ['GET', '/api/v1/fabrics/dc1/devices/leaf1/config', 'viewer'],
    ['GET', '/api/v1/fabrics/dc1/links', 'viewer'],
    ['POST', '/api/v1/fabrics/dc1/links', 'admin'],
    ['DELETE', '/api/v1/fabrics/dc1/links/spine1%3Aswp1--leaf1%3Aswp51', 'admin'],
    ['GET', '/api/v1/fabrics/dc1/events', 'viewer'],
    ['GET', '/api/v1/fabrics/dc1/jobs', 'viewer'],
    ['POST', '/api/v1/fabrics/dc1/onboard', 'operator'],
    ['POST', '/api/v1/fabrics/dc1/autoconfigure', 'operator'],
    ['GET', '/api/v1/jobs/some-id', 'viewer'],
    ['POST', '/api/v1/jobs/some-id/cancel', 'operator'],
    ['GET', '/api/v1/node-profiles', 'viewer'],
    ['GET', '/api/v1/node-profiles/frr-switch', 'viewer'],
    ['POST', '/api/v1/tokens', 'admin'],
    ['GET', '/api/v1/tokens', 'admin'],
    ['DELETE', '/api/v1/tokens/abc', 'admin'],
  ];

  it('every /api/v1 route answers 401 without a token and with a bad one, 403 below its role', async () => {
    const below: Record<Role, Role[]> = { viewer: [], operator: ['viewer'], admin: ['viewer', 'operator'] };
    for (const [m, url, need] of ROUTES) {
      const none = await call(m, url, { role: 'none', body: m === 'GET' || m === 'DELETE' ? undefined : {} });
      expect([m, url, none.status, none.json.error]).toEqual([m, url, 401, 'unauthorized']);
      expect(none.headers['www-authenticate']).toBe('Bearer');
      const bad = await call(m, url, { role: 'bad', body: m === 'GET' || m === 'DELETE' ? undefined : {} });
      expect([m, url, bad.status, bad.json.message]).toEqual([m, url, 401, 'invalid or revoked token']);
      for (const r of below[need]) {
        const res = await call(m, url, { role: r, body: m === 'GET' || m === 'DELETE' ? undefined : {} });
        expect([m, url, r, res.status, res.json.message]).toEqual([m, url, r, 403, `this needs the ${need} role; the token has ${r}`]);
      }
    }
    // nothing was created by any refused request
    expect(await store.listFabrics()).toEqual([]);
  });

  it('health, readiness, OpenAPI and docs need no token; metrics need a viewer token', async () => {
    expect((await call('GET', '/healthz', { role: 'none' })).json).toEqual({ status: 'ok', redis: 'up' });
    expect((await call('GET', '/readyz', { role: 'none' })).json).toEqual({ status: 'ready' });
    expect((await call('GET', '/metrics', { role: 'none' })).status).toBe(401);
    const m = await call('GET', '/metrics', { role: 'viewer' });
    expect(m.status).toBe(200);
    expect(m.text).toContain('fabric_api_request_duration_seconds_bucket');
    expect(m.text).toContain('fabric_queue_jobs{queue="device-ops",state="waiting"}');
    const o = await call('GET', '/api/v1/openapi.json', { role: 'none' });
    expect(o.json.openapi).toBe('3.0.3');
    for (const p of ['/api/v1/fabrics', '/api/v1/fabrics/{f}/autoconfigure', '/api/v1/jobs/{id}', '/api/v1/tokens/{id}', '/api/v1/fabrics/{f}/devices/{d}/config']) {
      expect(Object.keys(o.json.paths)).toContain(p);
    }
    const d = await call('GET', '/docs/', { role: 'none' });
    expect(d.status).toBe(200);
    expect(d.text).toContain('swagger');
    const nf = await call('GET', '/api/v1/nothing-here', { role: 'viewer' });
    expect(nf.status).toBe(404);
  });

  // ------------------------------------------------------------------ fabrics
  it('POST /fabrics creates (201, no secrets), refuses a duplicate (409) and bad files (400 with path)', async () => {
    const created = await call('POST', '/api/v1/fabrics', { body: example });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'dc1', credentials: { username: 'admin' }, snmp: { version: 'v2c' } });
    expect(created.text).not.toContain('s3cret');
    expect(created.text).not.toContain('fabric-ro');
    const dup = await call('POST', '/api/v1/fabrics', { body: example });
    expect(dup.status).toBe(409);
    expect(dup.json).toEqual({ error: 'conflict', message: 'fabric dc1 already exists', path: 'fabric.name' });

    const bad1 = structuredClone(example);
    bad1.fabric.name = 'dc2';
    bad1.devices[1].physicalRole = 'router';
    const r1 = await call('POST', '/api/v1/fabrics', { body: bad1 });
    expect(r1.status).toBe(400);
    expect(r1.json.path).toBe('devices[1].physicalRole');
    expect(r1.json.error).toBe('bad_request');
    expect(r1.json.message).toMatch(/^devices\[1\]\.physicalRole: /);

    const bad2 = structuredClone(example);
    delete bad2.fabric.credentials;
    const r2 = await call('POST', '/api/v1/fabrics', { body: bad2 });
    expect(r2.json).toEqual({ error: 'bad_request', message: 'fabric.credentials: is required', path: 'fabric.credentials' });

    // a domain error (the domain's FabricError path): a port the profile does not have
    const bad3 = structuredClone(example);
    bad3.fabric.name = 'dc3';
    bad3.links[2] = ['spine1:eth0/0', 'leaf3:swp51'];
    const r3 = await call('POST', '/api/v1/fabrics', { body: bad3 });
    expect(r3.status).toBe(400);
    expect(r3.json.path).toMatch(/^links\[2\]/);
    expect(r3.text).not.toMatch(/at .*\.ts:\d+/);

    const notJson = await raw('POST', '/api/v1/fabrics', { authorization: `Bearer ${tok.admin}`, 'content-type': 'application/json' }, '{"fabric": ');
    expect(notJson.statusCode).toBe(400);
    expect(Object.keys(JSON.parse(notJson.body)).sort()).toEqual(['error', 'message']);

    expect((await store.listFabrics()).map((f) => f.name)).toEqual(['dc1']);
  });

  it('GET /fabrics and /fabrics/{f}; PATCH settings; namespaces; 404s', async () => {
    const list = await call('GET', '/api/v1/fabrics', { role: 'viewer' });
    expect(list.json.items.map((f: { name: string }) => f.name)).toEqual(['dc1']);
    const one = await call('GET', '/api/v1/fabrics/dc1', { role: 'viewer' });
    expect(one.json).toMatchObject({ name: 'dc1', devices: 6, links: 8 });
    expect(one.text).not.toContain('s3cret');
    expect((await call('GET', '/api/v1/fabrics/nope', { role: 'viewer' })).json).toEqual({ error: 'not_found', message: 'fabric "nope" not found' });

    const p = await call('PATCH', '/api/v1/fabrics/dc1', { body: { settings: { mtu: 9100 } } });
    expect(p.status).toBe(200);
    expect(p.json.settings.mtu).toBe(9100);
    const pBad = await call('PATCH', '/api/v1/fabrics/dc1', { body: { settings: { mtu: 'big' } } });
    expect(pBad.json).toMatchObject({ error: 'bad_request', path: 'settings.mtu' });
    const pUnknown = await call('PATCH', '/api/v1/fabrics/dc1', { body: { colour: 'red' } });
    expect(pUnknown.json).toMatchObject({ error: 'bad_request', path: 'colour', message: 'colour: is not a known field' });
    // the password changes but never comes back
    const pCred = await call('PATCH', '/api/v1/fabrics/dc1', { body: { credentials: { username: 'ops', password: 'n3w-secret' } } });
    expect(pCred.json.credentials).toEqual({ username: 'ops' });
    expect(pCred.text).not.toContain('n3w-secret');
    expect((await store.getFabricSecrets('dc1')).credentials.password).toBe('n3w-secret');

    const ns = await call('GET', '/api/v1/fabrics/dc1/namespaces', { role: 'viewer' });
    expect(ns.json.loopback).toEqual(['10.255.0.0/24']);
    const ns2 = await call('PUT', '/api/v1/fabrics/dc1/namespaces', { body: { ...ns.json, loopback: ['10.255.0.0/24', '10.253.0.0/24'] } });
    expect(ns2.status).toBe(200);
    expect(ns2.json.loopback).toEqual(['10.255.0.0/24', '10.253.0.0/24']);
    const nsBad = await call('PUT', '/api/v1/fabrics/dc1/namespaces', { body: { ...ns.json, asn: [{ min: 'x', max: 3 }] } });
    expect(nsBad.json).toMatchObject({ error: 'bad_request', path: 'asn[0].min' });
  });

  // ------------------------------------------------------------------ devices, roles, links
  it('devices: list with the contract fields, add, get, rename/patch, roles, delete', async () => {
    const list = await call('GET', '/api/v1/fabrics/dc1/devices', { role: 'viewer' });
    expect(list.json.items).toHaveLength(6);
    expect(Object.keys(list.json.items[0]).sort()).toEqual(
      ['hostname', 'managedState', 'managementIp', 'model', 'name', 'onboardingState', 'osVersion', 'physicalRole', 'profile', 'roles', 'serial'].sort());
    expect(list.json.items.find((d: { name: string }) => d.name === 'spine1')).toMatchObject({ serial: 'SIM0001', profile: 'frr-switch', physicalRole: 'spine', roles: ['Route-Reflector'] });

    const add = await call('POST', '/api/v1/fabrics/dc1/devices', { body: { name: 'leaf5', serial: 'SIM0105', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] } });
    expect(add.status).toBe(201);
    expect(add.json).toMatchObject({ name: 'leaf5', serial: 'SIM0105', managedState: 'dhcp' });
    const dup = await call('POST', '/api/v1/fabrics/dc1/devices', { body: { name: 'leaf5', profile: 'frr-switch', physicalRole: 'leaf' } });
    expect(dup.json).toEqual({ error: 'conflict', message: 'name: device leaf5 already exists in fabric dc1', path: 'name' });
    const badName = await call('POST', '/api/v1/fabrics/dc1/devices', { body: { name: 'bad name!' } });
    expect(badName.json).toMatchObject({ error: 'bad_request', path: 'name' });
    const badIp = await call('POST', '/api/v1/fabrics/dc1/devices', { body: { name: 'x1', managementIp: '10.0.0.300' } });
    expect(badIp.json).toMatchObject({ error: 'bad_request', path: 'managementIp' });
    expect((await store.listDevices('dc1')).map((d) => d.name)).not.toContain('x1');

    const get = await call('GET', '/api/v1/fabrics/dc1/devices/leaf5', { role: 'viewer' });
    expect(get.json).toMatchObject({ name: 'leaf5', ports: [], needsConfig: expect.any(Boolean) });
    expect((await call('GET', '/api/v1/fabrics/dc1/devices/zzz', { role: 'viewer' })).status).toBe(404);

    const ren = await call('PATCH', '/api/v1/fabrics/dc1/devices/leaf5', { role: 'operator', body: { name: 'leaf5b', managementIp: '10.0.0.55' } });
    expect(ren.status).toBe(200);
    expect(ren.json).toMatchObject({ name: 'leaf5b', managementIp: '10.0.0.55' });
    const renBad = await call('PATCH', '/api/v1/fabrics/dc1/devices/leaf5b', { role: 'operator', body: { roles: ['x'] } });
    expect(renBad.json).toMatchObject({ error: 'bad_request', path: 'roles', message: 'roles: is not a known field' });
    const renDup = await call('PATCH', '/api/v1/fabrics/dc1/devices/leaf5b', { role: 'operator', body: { name: 'leaf1' } });
    expect(renDup.status).toBe(409);

    const roles = await call('PUT', '/api/v1/fabrics/dc1/devices/leaf5b/roles', { role: 'operator', body: { physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] } });
    expect(roles.status).toBe(200);
    expect(roles.json).toMatchObject({ physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] });
    const rolesBad = await call('PUT', '/api/v1/fabrics/dc1/devices/leaf5b/roles', { role: 'operator', body: { physicalRole: 'leaf', roles: ['Chief-Router'] } });
    expect(rolesBad.status).toBe(400);
    expect(rolesBad.json.path).toMatch(/roles/);
    const rolesSchema = await call('PUT', '/api/v1/fabrics/dc1/devices/leaf5b/roles', { role: 'operator', body: { physicalRole: 'core', roles: [] } });
    expect(rolesSchema.json).toMatchObject({ error: 'bad_request', path: 'physicalRole' });

    // Removing is a job (src/jobs/decommission): leaf5b is planned only (no links, no address): nothing to drain or push.
    const del = await call('DELETE', '/api/v1/fabrics/dc1/devices/leaf5b');
    expect(del.status).toBe(202);
    const removed = await waitJob(del.json.jobId);
    expect(removed).toMatchObject({ type: 'remove-device', state: 'succeeded', result: { removed: true, peers: [] } });
    expect((await call('DELETE', '/api/v1/fabrics/dc1/devices/leaf5b')).status).toBe(404);
    // Cabled to managed peers: 409 with the reason; force lifts it (the job is only submitted here).
    // (Planned devices are in `dhcp`: not managed peers. spine1 is made managed for this check, then put back.)
    expect((await call('PATCH', '/api/v1/fabrics/dc1/devices/spine1', { role: 'operator', body: { managedState: 'active' } })).status).toBe(200);
    const cabled = await call('DELETE', '/api/v1/fabrics/dc1/devices/leaf1');
    expect((await call('PATCH', '/api/v1/fabrics/dc1/devices/spine1', { role: 'operator', body: { managedState: 'dhcp' } })).status).toBe(200);
    expect(cabled.status).toBe(409);
    expect(cabled.json).toMatchObject({ error: 'conflict', message: 'device leaf1 is still cabled to managed peers spine1: delete those links first, or remove with force=true (its peers lose their sessions to it)' });
    expect((await call('GET', '/api/v1/fabrics/dc1/devices', { role: 'viewer' })).json.items).toHaveLength(6);
  });

  it('links: list, add, delete; 400 and 404', async () => {
    const list = await call('GET', '/api/v1/fabrics/dc1/links', { role: 'viewer' });
    expect(list.json.items).toHaveLength(8);
    expect(list.json.items[0]).toMatchObject({ a: { device: expect.any(String), port: expect.any(String) }, b: { device: expect.any(String), port: expect.any(String) } });
    const add = await call('POST', '/api/v1/fabrics/dc1/links', { body: { a: { device: 'spine1', port: 'swp9' }, b: { device: 'leaf1', port: 'swp49' } } });
    expect(add.status).toBe(201);
    expect(add.json).toMatchObject({ a: { device: 'spine1', port: 'swp9' }, b: { device: 'leaf1', port: 'swp49' } });
    const bad = await call('POST', '/api/v1/fabrics/dc1/links', { body: { a: { device: 'spine1' }, b: { device: 'leaf1', port: 'swp49' } } });
    expect(bad.json).toEqual({ error: 'bad_request', message: 'a.port: is required', path: 'a.port' });
    const del = await call('DELETE', `/api/v1/fabrics/dc1/links/${encodeURIComponent('leaf1:swp49--spine1:swp9')}`);
    expect(del.status).toBe(204);
    expect((await call('GET', '/api/v1/fabrics/dc1/links', { role: 'viewer' })).json.items).toHaveLength(8);
    expect((await call('DELETE', `/api/v1/fabrics/dc1/links/${encodeURIComponent('leaf1:swp49--spine1:swp9')}`)).status).toBe(404);
    expect((await call('DELETE', '/api/v1/fabrics/dc1/links/nonsense')).json).toMatchObject({ error: 'bad_request', path: 'link' });
  });

  it('events record who changed what; node profiles read', async () => {
    const ev = await call('GET', '/api/v1/fabrics/dc1/events?limit=500', { role: 'viewer' });
    expect(ev.status).toBe(200);
    const actions = ev.json.items.map((e: { action: string }) => e.action);
    expect(actions).toContain('device.added');
    const added = ev.json.items.find((e: { action: string }) => e.action === 'device.added');
    expect(added.actor).toMatch(/^token:[0-9a-f]{12}\(admin\)$/);
    expect(ev.text).not.toContain('n3w-secret');
    expect((await call('GET', '/api/v1/fabrics/dc1/events?limit=0', { role: 'viewer' })).json).toMatchObject({ error: 'bad_request', path: 'query.limit' });

    const profiles = await call('GET', '/api/v1/node-profiles', { role: 'viewer' });
    expect(profiles.json.items.map((p: { name: string }) => p.name)).toContain('frr-switch');
    expect((await call('GET', '/api/v1/node-profiles/juniper-qfx5110-48s-4c', { role: 'viewer' })).json).toMatchObject({ platform: 'junos', vendor: expect.any(String) });
    expect((await call('GET', '/api/v1/node-profiles/nope', { role: 'viewer' })).status).toBe(404);
  });

  // ------------------------------------------------------------------ jobs
  it('autoconfigure: 202 {jobId}, runs a child per device, records the intended config; dry run changes nothing', async () => {
    const before = await store.getAllocations('dc1');
    expect(Object.keys(before.asns)).toHaveLength(0);
    const dry = await call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: { dryRun: true } });
    expect(dry.status).toBe(202);
    const dj = await waitJob(dry.json.jobId);
    expect([dj.state, dj.error]).toEqual(['succeeded', undefined]);
    expect(dj.result).toMatchObject({ devices: 6, succeeded: 6, dryRun: true });
    expect(await store.getAllocations('dc1')).toEqual(before);
    expect(await store.getIntendedConfig('dc1', 'leaf1')).toBeNull();

    const res = await call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    expect(res.status).toBe(202);
    const job = await waitJob(res.json.jobId);
    expect(job).toMatchObject({ id: res.json.jobId, type: 'autoconfigure', state: 'succeeded', progress: 100 });
    expect(job.steps.filter((s: { device?: string }) => s.device === 'leaf1')).toEqual([
      { name: 'render', state: 'succeeded', device: 'leaf1' },
      { name: 'record', state: 'succeeded', device: 'leaf1' },
      { name: 'push', state: 'skipped', device: 'leaf1' },
    ]);
    expect(job.log.filter((l: { message: string }) => l.message.startsWith('push not available yet'))).toHaveLength(6);
    expect(Object.keys((await store.getAllocations('dc1')).asns)).toHaveLength(6);
    expect((await store.getIntendedConfig('dc1', 'leaf1'))?.platform).toBe('frr');

    const cfg = await call('GET', '/api/v1/fabrics/dc1/devices/leaf1/config', { role: 'viewer' });
    expect(cfg.status).toBe(200);
    expect(cfg.json.platform).toBe('frr');
    expect(Object.keys(cfg.json.files)).toEqual(['leaf1.frr.conf', 'leaf1.interfaces']); // interfaces: the fabric ports' MTU
    expect(cfg.json.files['leaf1.frr.conf']).toContain('hostname leaf1');
    expect(cfg.text).not.toContain('n3w-secret');
    expect((await call('GET', '/api/v1/fabrics/dc1/devices/nope/config', { role: 'viewer' })).status).toBe(404);

    const jl = await call('GET', '/api/v1/fabrics/dc1/jobs', { role: 'viewer' });
    // (the remove-device job of the devices test comes before them)
    expect(jl.json.items.map((j: { id: string }) => j.id).slice(0, 2)).toEqual([res.json.jobId, dry.json.jobId]);
    expect((await call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: { dryRun: 'yes' } })).json).toMatchObject({ error: 'bad_request', path: 'dryRun' });
    expect((await call('POST', '/api/v1/fabrics/nope/autoconfigure', { role: 'operator', body: {} })).status).toBe(404);
    expect((await call('GET', '/api/v1/jobs/does-not-exist', { role: 'viewer' })).status).toBe(404);
    // a finished job cannot be cancelled
    expect((await call('POST', `/api/v1/jobs/${res.json.jobId}/cancel`, { role: 'operator' })).status).toBe(409);
  });

  it('409 with the running job id while an autoconfigure runs (proven mid-flight); cancel stops it', async () => {
    // The push hook is the barrier: each device waits until the test releases it.
    types.register(autoconfigureJob({ push: async (pctx) => {
      await redis.sadd('test:pushing', pctx.device);
      for (let i = 0; i < 1500 && !(await redis.get('test:release')); i++) await sleep(20);
      await pctx.checkCancel();
      return { committed: false };
    } }));
    const first = await call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    expect(first.status).toBe(202);
    for (let i = 0; i < 500 && (await redis.scard('test:pushing')) < 2; i++) await sleep(20);
    expect(await redis.scard('test:pushing')).toBe(2); // two workers slots busy: mid-flight
    const running = await call('GET', `/api/v1/jobs/${first.json.jobId}`, { role: 'viewer' });
    expect(running.json.state).toBe('running');

    const second = await call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    expect(second.status).toBe(409);
    expect(second.json).toEqual({ error: 'conflict', message: `fabric "dc1" already has a running job ${first.json.jobId}`, jobId: first.json.jobId });
    const onboard = await call('POST', '/api/v1/fabrics/dc1/onboard', { role: 'operator', body: { mode: 'greenfield' } });
    expect(onboard.status).toBe(409);
    expect(onboard.json.jobId).toBe(first.json.jobId);
    const del = await call('DELETE', '/api/v1/fabrics/dc1');
    expect(del.status).toBe(409);
    expect(del.json.jobId).toBe(first.json.jobId);
    expect((await call('GET', '/api/v1/fabrics/dc1', { role: 'viewer' })).json.lockedBy).toBe(first.json.jobId);

    const cancel = await call('POST', `/api/v1/jobs/${first.json.jobId}/cancel`, { role: 'operator' });
    expect(cancel.status).toBe(202);
    expect(cancel.json.cancelRequested).toBe(true);
    const states = Object.values(cancel.json.devices).map((d) => (d as { state: string }).state).sort();
    expect(states).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled', 'running', 'running']);
    await redis.set('test:release', '1');
    const done = await waitJob(first.json.jobId);
    expect(done.state).toBe('cancelled');
    expect(await redis.scard('test:pushing')).toBe(2); // the four removed devices never ran
    expect(Object.values(done.devices).every((d) => (d as { state: string }).state === 'cancelled')).toBe(true);
    types.register(autoconfigureJob({})); // back to no push for the tests below
    expect(await store.getFabricLock('dc1')).toBeNull();
  });

  it('onboard: 202 {jobId}; with no onboarding handler the job fails with a clear message', async () => {
    const bad = await call('POST', '/api/v1/fabrics/dc1/onboard', { role: 'operator', body: { mode: 'sideways' } });
    expect(bad.json).toMatchObject({ error: 'bad_request', path: 'mode' });
    // manageUnderlay says what a brownfield adoption does with the running underlay: greenfield has none
    const keep = await call('POST', '/api/v1/fabrics/dc1/onboard', { role: 'operator', body: { mode: 'greenfield', manageUnderlay: false } });
    expect(keep.status).toBe(400);
    expect(keep.json).toMatchObject({ error: 'bad_request', path: 'manageUnderlay' });
    expect(keep.json.message).toContain('manageUnderlay: only a brownfield onboarding');
    const outside = await call('POST', '/api/v1/fabrics/dc1/onboard', { role: 'operator', body: { mode: 'greenfield', adoptOutsidePools: true } });
    expect(outside.json).toMatchObject({ error: 'bad_request', path: 'adoptOutsidePools' });
    const res = await call('POST', '/api/v1/fabrics/dc1/onboard', { role: 'operator', body: { mode: 'greenfield', expectedDevices: 6, timeoutSeconds: 60 } });
    expect(res.status).toBe(202);
    const job = await waitJob(res.json.jobId);
    expect(job.type).toBe('onboard');
    if (!types.get('onboard')) {
      expect(job.state).toBe('failed');
      expect(job.error).toBe("no handler is registered for job type 'onboard' (not available in this version)");
    }
  });

  // ------------------------------------------------------------------ tokens
  it('tokens: create (shown once), list (never the token), revoke (then 401)', async () => {
    const created = await call('POST', '/api/v1/tokens', { body: { role: 'viewer', name: 'grafana' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ role: 'viewer', name: 'grafana', id: expect.stringMatching(/^[0-9a-f]{12}$/), token: expect.stringMatching(/^fzt_/) });
    const mine = created.json.token as string;
    const res = await raw('GET', '/api/v1/fabrics', { authorization: `Bearer ${mine}` });
    expect(res.statusCode).toBe(200);
    const list = await call('GET', '/api/v1/tokens');
    expect(list.json.items.map((i: { id: string }) => i.id)).toContain(created.json.id);
    expect(list.text).not.toContain(mine);
    expect(list.text).not.toContain(tok.admin);
    // stored hashed: the raw token is nowhere in Redis
    for (const k of await redis.keys('auth:*')) {
      const type = await redis.type(k);
      const v = type === 'hash' ? JSON.stringify(await redis.hgetall(k)) : type === 'string' ? await redis.get(k) : JSON.stringify(await redis.smembers(k));
      expect(v).not.toContain(mine);
    }
    expect((await call('POST', '/api/v1/tokens', { body: { role: 'root' } })).json).toMatchObject({ error: 'bad_request', path: 'role' });
    expect((await call('DELETE', `/api/v1/tokens/${created.json.id}`)).status).toBe(204);
    const after = await raw('GET', '/api/v1/fabrics', { authorization: `Bearer ${mine}` });
    expect(after.statusCode).toBe(401);
    expect((await call('DELETE', `/api/v1/tokens/${created.json.id}`)).status).toBe(404);
  });

  it('DELETE /fabrics/{f}: 204 then 404', async () => {
    expect((await call('DELETE', '/api/v1/fabrics/dc1')).status).toBe(204);
    expect((await call('GET', '/api/v1/fabrics/dc1', { role: 'viewer' })).status).toBe(404);
    expect((await call('DELETE', '/api/v1/fabrics/dc1')).status).toBe(404);
    const m = await call('GET', '/metrics', { role: 'viewer' });
    expect(m.text).toMatch(/fabric_jobs_finished_total\{type="autoconfigure",state="succeeded"\} 2/);
    expect(m.text).toMatch(/fabric_jobs_finished_total\{type="autoconfigure",state="cancelled"\} 1/);
  });
});
