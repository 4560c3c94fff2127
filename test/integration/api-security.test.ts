// Security suite (issue 12): generated from the app's own route table, never a hand list.
// - every non-public route refuses a request without a token under many spellings of its path
//   (the old hook decided on the raw URL: /%61pi/v1/tokens minted an admin token with no token);
// - the role matrix: each route answers 403 exactly to the roles below its own;
// - one error shape for 404/413/414/415/431 and security headers on every reply;
// - rate limits, the audit trail, prototype names, management addresses and host-key pins;
// - secrets planted in every credential field never appear in a reply, a log line, a job
//   record or any Redis value outside the encrypted field.
import { connect } from 'node:net';
import { describeIf } from '../helpers/env';
import { dumpKeys, example, startApi, type ApiHarness } from '../helpers/api-harness';
import { roleAllows, ROLES, type Role } from '../../src/api/auth';
import { AUDIT_KEY } from '../../src/api/security';

jest.setTimeout(180_000);

/** A concrete URL for a route pattern (params filled with values that exist or plausibly could). */
function fill(url: string, fabric = 'nofab'): string {
  return url.replace(/:f\b/, fabric).replace(/:d\b/, 'leaf1').replace(/:n\b/, 'web').replace(/:id\b/, 'abcdef012345')
    .replace(/:name\b/, 'frr-switch').replace(/:link\b/, encodeURIComponent('leaf1:swp51--spine1:swp1'));
}

/** Spellings of the same path a router may match while a raw-URL check would not. */
function spellings(p: string): string[] {
  const out = [
    p,
    p.replace('/api/', '/%61pi/'),
    p.replace('/v1/', '/v%31/'),
    p.replace(/\/([a-z])/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    p.replace('/api/v1/', '/api//v1//'),
    p.replace('/api/v1/', '//api/v1/'),
    p.replace('/api/v1/', '/api/v1/./'),
    p.replace('/api/v1/', '/api/x/../v1/'),
    p.replace('/api/v1/', '/api/v1/%2e/'),
    `${p}/`,
    `${p}?x=1`,
    `${p};x=1`,
    p.replace('/api/', '/API/'),
  ];
  return [...new Set(out)];
}

/** One raw HTTP/1.1 request (what fetch() would refuse to send); resolves with status and body. */
function rawHttp(base: string, request: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let buf = '';
    s.on('data', (d) => { buf += d.toString(); });
    s.on('end', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      resolve({ status: m ? Number(m[1]) : 0, body: buf.slice(buf.indexOf('\r\n\r\n') + 4) });
    });
    s.on('error', reject);
    s.write(request);
  });
}

describeIf({ commands: ['redis-server'] })('API security (real HTTP, real Redis)', () => {
  let h: ApiHarness;
  const planted = ['PLANT-pw-1f3a', 'PLANT-community-77', 'PLANT-auth-9a9a', 'PLANT-priv-5c5c', 'PLANT-pw2-e0e0'];

  beforeAll(async () => {
    h = await startApi({ workers: true });
  });
  afterAll(async () => { await h?.stop(); });

  test('the route table is complete: every route says public or a role, and the protected ones are many', () => {
    const prot = h.app.routeAccess.filter((r) => !r.public);
    expect(prot.length).toBeGreaterThan(50);
    for (const r of prot) expect(ROLES).toContain(r.role);
    // Public: only health probes, the OpenAPI document, Swagger UI and the ZTP bootstrap.
    const pub = [...new Set(h.app.routeAccess.filter((r) => r.public).map((r) => r.url))];
    for (const u of pub) expect(u).toMatch(/^(\/|\/healthz|\/readyz|\/api\/v1\/openapi\.json|\/docs.*|\/ui.*|\/ztp\/:serial)$/);
  });

  test('every protected route refuses a request without a token, under every spelling of its path', async () => {
    const before = (await h.call('GET', '/api/v1/tokens')).json.items.length;
    let checked = 0;
    for (const r of h.app.routeAccess.filter((x) => !x.public)) {
      for (const url of spellings(fill(r.url))) {
        const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? { role: 'admin' } : undefined;
        const res = await h.call(r.method, url, { role: 'none', body });
        // 401 when the router matched the route, 404 when no route matched: never anything served.
        if (![401, 404].includes(res.status)) throw new Error(`${r.method} ${url} (route ${r.url}) answered ${res.status} without a token: ${res.text.slice(0, 200)}`);
        if (url === fill(r.url)) expect(res.status).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
    // The exploit itself: no token was minted by any spelling of POST /tokens.
    expect((await h.call('GET', '/api/v1/tokens')).json.items.length).toBe(before);
  });

  test('the role matrix: each route answers 403 exactly to the roles below its own', async () => {
    let cells = 0;
    const routes = h.app.routeAccess.filter((x) => !x.public && x.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(45);
    for (const r of routes) {
      for (const role of ROLES) {
        const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined;
        const res = await h.call(r.method, fill(r.url), { role, body });
        if (roleAllows(role, r.role as Role)) {
          if ([401, 403].includes(res.status)) throw new Error(`${role} refused on ${r.method} ${r.url} (needs ${r.role}): ${res.status}`);
        } else if (res.status !== 403) {
          throw new Error(`${role} not refused on ${r.method} ${r.url} (needs ${r.role}): ${res.status} ${res.text.slice(0, 200)}`);
        } else {
          expect(res.json).toEqual({ error: 'forbidden', message: `this needs the ${r.role} role; the token has ${role}` });
        }
        cells++;
      }
    }
    expect(cells).toBe(routes.length * ROLES.length);
  });

  test('one error shape for 400, 404, 413, 414, 415 and 431, and security headers on every reply', async () => {
    const shape = (j: unknown) => {
      expect(j).toEqual(expect.objectContaining({ error: expect.any(String), message: expect.any(String) }));
      expect(Object.keys(j as object).every((k) => ['error', 'message', 'path', 'jobId'].includes(k))).toBe(true);
    };
    const notFound = await h.call('GET', '/api/v1/nothing-here');
    expect(notFound.status).toBe(404); shape(notFound.json);
    const badJson = await h.call('POST', '/api/v1/tokens', { body: '{"role":' });
    expect(badJson.status).toBe(400); shape(badJson.json);
    const big = await h.call('PATCH', '/api/v1/fabrics/nofab', { body: { settings: { ntp: ['x'.repeat(2 * 1024 * 1024)] } } });
    expect(big.status).toBe(413); shape(big.json);
    const longUrl = await h.call('GET', `/api/v1/fabrics/${'a'.repeat(5000)}`);
    expect(longUrl.status).toBe(414); shape(longUrl.json);
    const longParam = await h.call('GET', `/api/v1/fabrics/${'a'.repeat(800)}`);
    expect(longParam.status).toBe(414); shape(longParam.json);
    const media = await h.call('POST', '/api/v1/tokens', { body: '<role>admin</role>', headers: { 'content-type': 'application/xml' } });
    expect(media.status).toBe(415); shape(media.json);
    const huge = await rawHttp(h.base, `GET /api/v1/fabrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(huge.status).toBe(431); shape(JSON.parse(huge.body));
    for (const r of [notFound, badJson, big, media, await h.call('GET', '/api/v1/fabrics', { role: 'viewer' }), await h.call('GET', '/api/v1/fabrics', { role: 'none' })]) {
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['content-security-policy']).toContain("default-src 'none'");
      expect(r.headers['cache-control']).toBe('no-store');
    }
    const health = await h.call('GET', '/healthz', { role: 'none' });
    expect(health.headers['x-content-type-options']).toBe('nosniff');
  });

  test('names that are Object properties are looked up as names: 404/400, never 500 or stored', async () => {
    expect((await h.call('GET', '/api/v1/node-profiles/toString', { role: 'viewer' })).status).toBe(404);
    expect((await h.call('GET', '/api/v1/node-profiles/constructor', { role: 'viewer' })).status).toBe(404);
    expect((await h.call('GET', '/api/v1/fabrics/constructor', { role: 'viewer' })).status).toBe(404);
    const f = example('dc1-frr');
    f.fabric.name = 'proto';
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
    const bad = await h.call('POST', '/api/v1/fabrics/proto/devices', { body: { name: 'x1', profile: 'constructor', physicalRole: 'leaf', roles: ['CRB-Access'] } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/unknown profile "constructor"/);
    expect((await h.call('GET', '/api/v1/fabrics/proto/devices/x1', { role: 'viewer' })).status).toBe(404);
    expect((await h.call('DELETE', '/api/v1/fabrics/proto')).status).toBe(204);
  });

  test('management addresses stay inside the namespace; a changed address keeps the pinned key until an admin resets it', async () => {
    const f = example('dc1-frr');
    f.fabric.name = 'mgmt';
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
    const outside = await h.call('PATCH', '/api/v1/fabrics/mgmt/devices/leaf1', { role: 'operator', body: { managementIp: '192.0.2.10' } });
    expect(outside.status).toBe(400);
    expect(outside.json).toMatchObject({ path: 'managementIp' });
    expect(outside.json.message).toMatch(/192\.0\.2\.10 is outside the fabric's management namespace \(10\.0\.0\.0\/24\)/);
    const added = await h.call('POST', '/api/v1/fabrics/mgmt/devices', { body: { name: 'x9', managementIp: '198.51.100.1' } });
    expect(added.status).toBe(400);
    expect((await h.call('GET', '/api/v1/fabrics/mgmt/devices/leaf1', { role: 'viewer' })).json.managementIp).toBeNull();
    await h.store.hostKeyStore('mgmt').set('leaf1', 'SHA256:pinned-before');
    expect((await h.call('PATCH', '/api/v1/fabrics/mgmt/devices/leaf1', { role: 'operator', body: { managementIp: '10.0.0.21' } })).status).toBe(200);
    expect((await h.call('PATCH', '/api/v1/fabrics/mgmt/devices/leaf1', { role: 'operator', body: { managementIp: '10.0.0.22' } })).status).toBe(200);
    expect((await h.store.getDevice('mgmt', 'leaf1'))!.hostKey).toBe('SHA256:pinned-before');
    expect((await h.call('DELETE', '/api/v1/fabrics/mgmt/devices/leaf1/host-key', { role: 'operator' })).status).toBe(403);
    expect((await h.call('DELETE', '/api/v1/fabrics/mgmt/devices/leaf1/host-key')).status).toBe(204);
    expect((await h.store.getDevice('mgmt', 'leaf1'))!.hostKey).toBeNull();
    const ev = (await h.call('GET', '/api/v1/fabrics/mgmt/events?limit=1000', { role: 'viewer' })).json.items;
    expect(ev.find((e: { action: string }) => e.action === 'hostkey.reset')).toMatchObject({ object: 'device/leaf1', actor: expect.stringMatching(/^token:[0-9a-f]{12}\(admin\)$/) });
  });

  test('every authenticated write and every refusal is in the audit trail with its actor', async () => {
    const made = await h.call('POST', '/api/v1/tokens', { body: { role: 'viewer', name: 'audit-me' } });
    expect(made.status).toBe(201);
    expect((await h.call('DELETE', `/api/v1/tokens/${made.json.id}`)).status).toBe(204);
    expect((await h.call('POST', '/api/v1/tokens', { role: 'viewer', body: { role: 'admin' } })).status).toBe(403);
    const audit = (await h.call('GET', '/api/v1/audit?limit=10000')).json.items as { actor: string; method: string; route: string; status: number; params?: Record<string, string> }[];
    expect(audit.find((a) => a.method === 'POST' && a.route === '/api/v1/tokens' && a.status === 201)?.actor).toMatch(/\(admin\)$/);
    expect(audit.find((a) => a.method === 'DELETE' && a.params?.id === made.json.id)).toMatchObject({ status: 204 });
    expect(audit.find((a) => a.status === 403 && a.route === '/api/v1/tokens')?.actor).toMatch(/\(viewer\)$/);
    expect(await h.redis.xlen(AUDIT_KEY)).toBeGreaterThan(3);
    // A viewer may not read it.
    expect((await h.call('GET', '/api/v1/audit', { role: 'viewer' })).status).toBe(403);
  });

  test('secrets planted in every credential field appear in no reply, log line, job record or Redis value outside the encrypted field', async () => {
    const f = example('dc1-frr');
    f.fabric.name = 'sec';
    f.fabric.credentials.password = planted[0];
    f.fabric.snmp = { community: planted[1] };
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
    expect((await h.call('PATCH', '/api/v1/fabrics/sec', { body: { snmp: { v3: { user: 'ro', authKey: planted[2], privKey: planted[3] } } } })).status).toBe(200);
    expect((await h.call('PATCH', '/api/v1/fabrics/sec', { body: { credentials: { username: 'admin', password: planted[4] } } })).status).toBe(200);
    const job = await h.call('POST', '/api/v1/fabrics/sec/autoconfigure', { role: 'operator', body: { dryRun: true } });
    expect(job.status).toBe(202);
    expect((await h.waitJob(job.json.jobId)).state).toBe('succeeded');
    // Every GET of the API, with real names.
    const replies: string[] = [];
    for (const r of h.app.routeAccess.filter((x) => x.method === 'GET')) {
      const url = fill(r.url, 'sec').replace('abcdef012345', job.json.jobId);
      replies.push((await h.call('GET', url)).text);
    }
    const text = replies.join('\n');
    expect(text).toContain('"name":"sec"'); // the walk did read the fabric
    for (const s of planted) expect(text).not.toContain(s);
    for (const s of planted) expect(h.logs.join('\n')).not.toContain(s);
    for (const tok of Object.values(h.tokens)) expect(h.logs.join('\n')).not.toContain(tok);
    // Redis: everywhere but the one encrypted field (and decrypting it does give them back).
    const dump = await dumpKeys(h.redis, '*');
    const outside = Object.entries(dump).filter(([k]) => k !== 'fz:f:sec:secret').map(([k, v]) => `${k} ${JSON.stringify(v)}`).join('\n');
    expect(outside).toContain('fz:f:sec:devices');
    for (const s of planted) expect(outside).not.toContain(s);
    for (const tok of Object.values(h.tokens)) expect(outside).not.toContain(tok);
    const secrets = await h.store.getFabricSecrets('sec');
    expect(JSON.stringify(secrets)).toContain(planted[4]);
    expect(JSON.stringify(secrets)).toContain(planted[3]);
  });
});

describeIf({ commands: ['redis-server'] })('API rate limits (real HTTP, real Redis)', () => {
  let h: ApiHarness;
  beforeAll(async () => { h = await startApi({ rateLimits: { perMinute: 40, tokensPerMinute: 3, authFailuresPerMinute: 10 } }); });
  afterAll(async () => { await h?.stop(); });

  test('token creation has its own stricter limit; other routes answer 429 past theirs, per token', async () => {
    for (let i = 0; i < 3; i++) expect((await h.call('POST', '/api/v1/tokens', { body: { role: 'viewer' } })).status).toBe(201);
    const limited = await h.call('POST', '/api/v1/tokens', { body: { role: 'viewer' } });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ error: 'too_many_requests', message: expect.stringMatching(/^rate limit: at most 3 requests per minute/) });
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await h.call('GET', '/api/v1/fabrics', { role: 'viewer' })).status);
    expect(statuses.slice(0, 40).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(40).every((s) => s === 429)).toBe(true);
    // Another token is not limited by the first one's count; public probes never are.
    expect((await h.call('GET', '/api/v1/fabrics', { role: 'operator' })).status).toBe(200);
    for (let i = 0; i < 50; i++) expect((await h.call('GET', '/healthz', { role: 'none' })).status).toBe(200);
  });

  test('an address that keeps failing authentication gets 429 without a lookup; a verified token still works', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await h.call('GET', '/api/v1/node-profiles', { role: 'none' })).status);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.slice(10).every((c) => c === 429)).toBe(true);
    expect((await h.call('GET', '/api/v1/fabrics', { role: 'operator' })).status).toBe(200);
  });
});
