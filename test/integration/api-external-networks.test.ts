// External networks over REST (issue 16), real HTTP + Redis + workers: create (201, only the
// gateways' plans change and are pushed), list/get, refusals (400 with where, 409 for a
// duplicate and for deleting the logical router still connected), delete (202, the gateways
// pushed again), 404 after. The devices' side of the push is the harness's function: the
// push to real FRR is test/lab/dcgw-twin.test.ts.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { describeIf } from '../helpers/env';
import { ROOT, startApi, type ApiHarness } from '../helpers/api-harness';
import type { PushContext } from '../../src/jobs/autoconfigure';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const FABRIC = load(readFileSync(path.join(ROOT, 'test/golden/fabrics/dcgw-frr.yaml'), 'utf8')) as any;
const EXT = FABRIC.externalNetworks[0];
delete FABRIC.externalNetworks;

describeIf({ commands: ['redis-server'] })('external networks over REST', () => {
  let h: ApiHarness;
  const pushed: string[] = [];
  const push = async (ctx: PushContext) => { pushed.push(ctx.device); return { changed: true, committed: true }; };
  const base = '/api/v1/fabrics/dcgwfrr/external-networks';

  beforeAll(async () => {
    h = await startApi({ workers: true, push });
    expect((await h.call('POST', '/api/v1/fabrics', { body: FABRIC })).status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); });

  const done = async (jobId: string) => {
    for (let i = 0; i < 600; i++) {
      const j = (await h.call('GET', `/api/v1/jobs/${jobId}`, { role: 'viewer' })).json as { state: string };
      if (['succeeded', 'failed', 'cancelled'].includes(j.state)) return j;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${jobId} did not end`);
  };

  test('create: 201, the two gateways change and only they are pushed', async () => {
    const r = await h.call('POST', base, { body: EXT });
    expect(r.status).toBe(201);
    expect(r.json.item).toEqual(EXT);
    expect(r.json.devices).toEqual(['gw1', 'spine1']);
    expect((await done(r.json.jobId)).state).toBe('succeeded');
    expect([...pushed].sort()).toEqual(['gw1', 'spine1']);
    expect((await h.call('GET', base, { role: 'viewer' })).json.items).toEqual([EXT]);
    expect((await h.call('GET', `${base}/inet`, { role: 'viewer' })).json).toEqual(EXT);
    const cfg = (await h.call('GET', '/api/v1/fabrics/dcgwfrr/devices/gw1/config', { role: 'viewer' })).json as { files: Record<string, string> };
    expect(cfg.files['gw1.frr.conf']).toContain(' neighbor 192.0.2.1 remote-as 65200');
  });

  test('refusals: 409 for a duplicate, 400 naming the field, nothing stored', async () => {
    expect((await h.call('POST', base, { body: EXT })).status).toBe(409);
    const bad = await h.call('POST', base, { body: { ...EXT, name: 'inet2', gateways: [{ device: 'leaf1', port: 'swp20', address: '192.0.2.8/31', peer: '192.0.2.9' }] } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('externalNetworks[1] (inet2).gateways[0].device: leaf1 has no DC-Gateway role');
    const field = await h.call('POST', base, { body: { ...EXT, name: 'inet3', via: 'x' } });
    expect(field.status).toBe(400);
    expect((await h.call('GET', base, { role: 'viewer' })).json.items.map((x: { name: string }) => x.name)).toEqual(['inet']);
    expect((await h.call('POST', base, { body: EXT, role: 'viewer' })).status).toBe(403);
  });

  test('the logical router cannot go while an external network connects it', async () => {
    const r = await h.call('DELETE', '/api/v1/fabrics/dcgwfrr/logical-routers/t1');
    expect(r.status).toBe(409);
    expect(r.text).toContain('logical router \\"t1\\" is still connected to the outside by external network inet');
  });

  test('delete: 202, the gateways pushed again; then 404', async () => {
    pushed.length = 0;
    const r = await h.call('DELETE', `${base}/inet`);
    expect(r.status).toBe(202);
    expect(r.json.devices).toEqual(['gw1', 'spine1']);
    expect((await done(r.json.jobId)).state).toBe('succeeded');
    expect([...pushed].sort()).toEqual(['gw1', 'spine1']);
    expect((await h.call('GET', `${base}/inet`, { role: 'viewer' })).status).toBe(404);
    expect((await h.call('DELETE', `${base}/inet`)).status).toBe(404);
  });
});
