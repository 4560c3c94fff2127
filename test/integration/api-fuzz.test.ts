// Fuzz from the OpenAPI document (issue 12): every operation, every body schema, a fixed seed so
// a failure replays. 600 requests here; `npm run bench -- fuzz-api` runs 10,000 and more.
import { describeIf } from '../helpers/env';
import { example, startApi, type ApiHarness } from '../helpers/api-harness';
import { fuzzApi, operations } from '../helpers/openapi-fuzz';

jest.setTimeout(300_000);

describeIf({ commands: ['redis-server'] })('API fuzz from its own OpenAPI document', () => {
  let h: ApiHarness;
  beforeAll(async () => { h = await startApi(); });
  afterAll(async () => { await h?.stop(); });

  test('600 seeded requests over every operation: no 5xx, no hang, one error shape, a refused request changes nothing', async () => {
    const f = example('dc1-frr-services');
    f.fabric.name = 'fz1';
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
    const doc = (await h.call('GET', '/api/v1/openapi.json', { role: 'none' })).json;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(45);
    expect(ops.filter((o) => ['POST', 'PUT', 'PATCH'].includes(o.method) && o.params.length + 1 && o.path !== '/api/v1/jobs/{id}/cancel').every((o) => o.body)).toBe(true);
    const known = { f: ['fz1'], d: ['leaf1', 'spine1'], n: ['web', 'db', 'bms1', 'tenant1'], name: ['frr-switch'], id: ['0'], link: [encodeURIComponent('leaf1:swp51--spine1:swp1')] };
    const report = await fuzzApi({ base: h.base, token: h.tokens.admin, redis: h.redis, doc, fabric: 'fz1', known, seed: 12, runs: 600 });
    expect(report.problems).toEqual([]);
    expect(report.requests).toBe(600);
    // Both kinds happened: the fuzz reached handlers that accept, and refusals.
    const ok = Object.entries(report.byStatus).filter(([s]) => Number(s) < 300).reduce((n, [, c]) => n + c, 0);
    expect(ok).toBeGreaterThan(30);
    expect(report.byStatus['400']).toBeGreaterThan(100);
    // The fabric is still whole: it reads, and it still compiles.
    expect((await h.call('GET', '/api/v1/fabrics/fz1', { role: 'viewer' })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/fabrics/fz1/devices/leaf3/config', { role: 'viewer' })).status).toBe(200);
  });

  test('what the long fuzz found stays fixed: a number as `since` is no time (it was a 500)', async () => {
    const r = await h.call('GET', '/api/v1/fabrics/fz1/events?since=57', { role: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: 'bad_request', path: 'since' });
    expect((await h.call('GET', '/api/v1/fabrics/fz1/events?since=2026-01-01T00:00:00Z', { role: 'viewer' })).status).toBe(200);
  });
});
