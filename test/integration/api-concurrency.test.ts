// Concurrency suite (issue 12): parallel writes against a real Redis through the real API.
// N accepted writes mean N stored (the old service routes read outside the transaction and
// lost about half of 8 parallel creates, and a create beside a delete brought the deleted
// network back); a write while a job runs is stored and queued as one coalesced follow-up push
// (it answered 409 before); no allocation is ever handed out twice.
import { describeIf } from '../helpers/env';
import { example, startApi, type ApiHarness } from '../helpers/api-harness';
import type { PushContext } from '../../src/jobs/autoconfigure';

jest.setTimeout(180_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf({ commands: ['redis-server'] })('concurrent writes (real HTTP, real Redis, workers)', () => {
  let h: ApiHarness;
  /** The push blocks on this Redis key while a test holds a job mid-flight. */
  const push = async (ctx: PushContext) => {
    await h.redis.sadd(`test:pushing:${ctx.jobId}`, ctx.device);
    for (let i = 0; i < 6000 && !(await h.redis.get('test:release')); i++) await sleep(20);
    return { changed: false, committed: false };
  };

  beforeAll(async () => {
    h = await startApi({ workers: true, push });
    await h.redis.set('test:release', '1');
  });
  afterAll(async () => { await h?.stop(); });

  const fabric = async (name: string) => {
    const f = example('dc1-frr-services');
    f.fabric.name = name;
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
  };
  const names = async (f: string, kind: string) => ((await h.call('GET', `/api/v1/fabrics/${f}/${kind}`, { role: 'viewer' })).json.items as { name: string }[]).map((x) => x.name).sort();
  const net = (i: number) => ({ name: `n${i}`, vni: 20000 + i, subnet: `10.100.${i}.0/24`, gateway: `10.100.${i}.1` });
  const settle = async (f: string) => {
    // Every job of the fabric ends, and the lock is free.
    for (let i = 0; i < 600; i++) {
      const jobs = (await h.call('GET', `/api/v1/fabrics/${f}/jobs?limit=200`, { role: 'viewer' })).json.items as { state: string }[];
      if (jobs.every((j) => ['succeeded', 'failed', 'cancelled'].includes(j.state)) && !(await h.store.getFabricLock(f))) return jobs;
      await sleep(100);
    }
    throw new Error(`jobs of ${f} did not settle`);
  };

  test('eight parallel creates: all answer 201 and all eight are stored', async () => {
    await fabric('c1');
    const res = await Promise.all(Array.from({ length: 8 }, (_, i) => h.call('POST', '/api/v1/fabrics/c1/virtual-networks', { body: net(i) })));
    expect(res.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(await names('c1', 'virtual-networks')).toEqual(['db', 'n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'web']);
  });

  test('a delete beside a create: the deleted network stays deleted (10 rounds)', async () => {
    await fabric('c2');
    for (let i = 0; i < 10; i++) {
      expect((await h.call('POST', '/api/v1/fabrics/c2/virtual-networks', { body: net(i) })).status).toBe(201);
      const [del, add] = await Promise.all([
        h.call('DELETE', `/api/v1/fabrics/c2/virtual-networks/n${i}`),
        h.call('POST', '/api/v1/fabrics/c2/virtual-networks', { body: net(i + 100) }),
      ]);
      expect([del.status, add.status]).toEqual([202, 201]);
    }
    expect(await names('c2', 'virtual-networks')).toEqual(['db', ...Array.from({ length: 10 }, (_, i) => `n${i + 100}`).sort(), 'web'].sort());
  });

  test('a write while a job runs is stored at once; its push waits as one follow-up job that later writes join', async () => {
    await fabric('c3');
    await h.redis.del('test:release');
    const first = await h.call('POST', '/api/v1/fabrics/c3/autoconfigure', { role: 'operator', body: {} });
    expect(first.status).toBe(202);
    for (let i = 0; i < 500 && (await h.redis.scard(`test:pushing:${first.json.jobId}`)) === 0; i++) await sleep(20);
    expect((await h.call('GET', `/api/v1/jobs/${first.json.jobId}`, { role: 'viewer' })).json.state).toBe('running');
    // Two VPG writes touching two different leaves while the job holds the fabric.
    await h.call('POST', '/api/v1/fabrics/c3/servers', { body: { name: 'bms9', nics: ['leaf1:swp20'] } });
    const a = await h.call('POST', '/api/v1/fabrics/c3/vpgs', { body: { name: 'v9', server: 'bms9', ports: ['leaf1:swp20'], bindings: [{ network: 'db', vlan: 309 }] } });
    const b = await h.call('POST', '/api/v1/fabrics/c3/vpgs', { body: { name: 'v8', ports: ['leaf2:swp21'], bindings: [{ network: 'web', vlan: 308 }] } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.json.devices).toEqual(['leaf1']);
    expect(b.json.devices).toEqual(['leaf2']);
    expect(a.json.jobId).toBeDefined();
    expect(a.json.jobId).not.toBe(first.json.jobId);
    expect(a.json.behind).toBe(first.json.jobId);
    expect(b.json.jobId).toBe(a.json.jobId); // coalesced into the one pending follow-up
    // Stored now, while the first job still runs.
    expect(await names('c3', 'vpgs')).toEqual(['bms1', 'bms2', 'bms3', 'v8', 'v9']);
    const pending = await h.call('GET', `/api/v1/jobs/${a.json.jobId}`, { role: 'viewer' });
    expect(pending.json.state).toBe('queued');
    expect(pending.json.log.map((l: { message: string }) => l.message).join('\n')).toMatch(/queued: starts when the fabric is free/);
    await h.redis.set('test:release', '1');
    expect((await h.waitJob(first.json.jobId)).state).toBe('succeeded');
    const follow = await h.waitJob(a.json.jobId);
    expect(follow.state).toBe('succeeded');
    expect(Object.keys(follow.devices).sort()).toEqual(['leaf1', 'leaf2']);
    expect(follow.createdAt <= follow.startedAt).toBe(true);
    expect(Date.parse(follow.startedAt)).toBeGreaterThanOrEqual(Date.parse((await h.call('GET', `/api/v1/jobs/${first.json.jobId}`, { role: 'viewer' })).json.finishedAt));
    await settle('c3');
  });

  test('32 parallel mixed writes: the final state is the accepted writes applied one by one; no allocation twice', async () => {
    await fabric('c4');
    for (let i = 0; i < 4; i++) expect((await h.call('POST', '/api/v1/fabrics/c4/virtual-networks', { body: { name: `d${i}`, vni: 30000 + i } })).status).toBe(201);
    type W = { what: string; run: () => Promise<{ status: number; json: any }> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const writes: W[] = [];
    for (let i = 0; i < 8; i++) writes.push({ what: `net n${i}`, run: () => h.call('POST', '/api/v1/fabrics/c4/virtual-networks', { body: net(i) }) });
    for (let i = 0; i < 4; i++) writes.push({ what: `del d${i}`, run: () => h.call('DELETE', `/api/v1/fabrics/c4/virtual-networks/d${i}`) });
    for (let i = 1; i <= 4; i++) writes.push({ what: `server s${i}`, run: () => h.call('POST', '/api/v1/fabrics/c4/servers', { body: { name: `s${i}`, nics: [`leaf${i}:swp2${i}`] } }) });
    for (let i = 1; i <= 4; i++) writes.push({ what: `vpg v${i}`, run: () => h.call('POST', '/api/v1/fabrics/c4/vpgs', { body: { name: `v${i}`, ports: [`leaf${i}:swp3${i}`], bindings: [{ network: 'db', vlan: 300 + i }] } }) });
    const devs = ['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3', 'leaf4'];
    for (const d of devs) writes.push({ what: `patch ${d}`, run: () => h.call('PATCH', `/api/v1/fabrics/c4/devices/${d}`, { role: 'operator', body: { hostname: `h-${d}`, osVersion: '9.1' } }) });
    for (const d of ['leaf1', 'leaf2']) writes.push({ what: `roles ${d}`, run: () => h.call('PUT', `/api/v1/fabrics/c4/devices/${d}/roles`, { role: 'operator', body: { physicalRole: 'leaf', roles: ['CRB-Access'] } }) });
    for (const d of ['leaf3', 'leaf4']) writes.push({ what: `roles ${d}`, run: () => h.call('PUT', `/api/v1/fabrics/c4/devices/${d}/roles`, { role: 'operator', body: { physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] } }) });
    // Two that must be refused whatever the order: a port of bms1's VPG, a VNI in use.
    writes.push({ what: 'bad vpg', run: () => h.call('POST', '/api/v1/fabrics/c4/vpgs', { body: { name: 'vx', ports: ['leaf1:swp10'], bindings: [{ network: 'db', vlan: 399 }] } }) });
    writes.push({ what: 'bad net', run: () => h.call('POST', '/api/v1/fabrics/c4/virtual-networks', { body: { name: 'nx', vni: 10010 } }) });
    expect(writes).toHaveLength(32);
    const res = await Promise.all(writes.map((w) => w.run()));
    const by = new Map(writes.map((w, i) => [w.what, res[i]]));
    for (const [what, r] of by) {
      if (what.startsWith('bad')) expect([400, 409]).toContain(r.status);
      else if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    expect(await names('c4', 'virtual-networks')).toEqual(['db', ...Array.from({ length: 8 }, (_, i) => `n${i}`), 'web'].sort());
    expect(await names('c4', 'servers')).toEqual(['bms1', 'bms2', 'bms3', 's1', 's2', 's3', 's4']);
    expect(await names('c4', 'vpgs')).toEqual(['bms1', 'bms2', 'bms3', 'v1', 'v2', 'v3', 'v4']);
    const devices = (await h.call('GET', '/api/v1/fabrics/c4/devices', { role: 'viewer' })).json.items as { name: string; hostname: string; osVersion: string; roles: string[] }[];
    for (const d of devices) expect([d.name, d.hostname, d.osVersion]).toEqual([d.name, `h-${d.name}`, '9.1']);
    expect(Object.fromEntries(devices.filter((d) => d.name.startsWith('leaf')).map((d) => [d.name, d.roles]))).toEqual({
      leaf1: ['CRB-Access'], leaf2: ['CRB-Access'], leaf3: ['ERB-UCAST-Gateway'], leaf4: ['ERB-UCAST-Gateway'],
    });
    // The pushes the writes queued all end; then eight allocators at once hand out nothing twice.
    const jobs = await settle('c4');
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j) => j.state === 'succeeded')).toBe(true);
    const results = await Promise.all(Array.from({ length: 8 }, () => h.store.allocateFabric('c4')));
    for (const r of results) expect(r).toEqual(results[0]);
    const a = results[0];
    const dup = (xs: unknown[]) => xs.length !== new Set(xs.map(String)).size;
    expect(Object.keys(a.loopbacks)).toHaveLength(6);
    expect(dup(Object.values(a.loopbacks))).toBe(false);
    expect(dup(Object.values(a.asns))).toBe(false);
    expect(dup(Object.values(a.links))).toBe(false);
  });
});
