// Security groups and port profiles over the real API (real HTTP, real Redis, workers with a
// push that records nothing): role checks, schema 400s with a path, the FRR storm-control
// refusal naming the device, attach through a VPG (only that leaf is pushed), and 409s for a
// group or profile still in use.
import { describeIf } from '../helpers/env';
import { example, startApi, type ApiHarness } from '../helpers/api-harness';

jest.setTimeout(120_000);

describeIf({ commands: ['redis-server'] })('security groups and port profiles over REST', () => {
  let h: ApiHarness;
  const F = '/api/v1/fabrics/sg1';
  const group = { name: 'no-ssh', rules: [{ direction: 'ingress', action: 'deny', protocol: 'tcp', ports: { from: 22 } }] };
  const vpg = (extra: Record<string, unknown>, binding: Record<string, unknown> = {}) => ({
    name: 'bms1', server: 'bms1', ports: ['leaf1:swp10'], bindings: [{ network: 'web', untagged: true, ...binding }], ...extra,
  });

  beforeAll(async () => {
    h = await startApi({ workers: true, push: async () => ({ changed: false, committed: false }) });
    const f = example('dc1-frr-services');
    f.fabric.name = 'sg1';
    expect((await h.call('POST', '/api/v1/fabrics', { body: f })).status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); });

  test('create needs admin; a viewer lists', async () => {
    expect((await h.call('POST', `${F}/security-groups`, { role: 'viewer', body: group })).status).toBe(403);
    expect((await h.call('POST', `${F}/security-groups`, { role: 'operator', body: group })).status).toBe(403);
    const r = await h.call('POST', `${F}/security-groups`, { body: group });
    expect(r.status).toBe(201);
    expect(r.json.devices).toEqual([]);
    expect((await h.call('GET', `${F}/security-groups`, { role: 'viewer' })).json.items).toEqual([group]);
    expect((await h.call('POST', `${F}/security-groups`, { body: group })).status).toBe(409);
  });

  test('a bad rule is a 400 with its path, nothing stored', async () => {
    const r = await h.call('POST', `${F}/security-groups`, { body: { name: 'bad', rules: [{ direction: 'ingress', action: 'deny', protocol: 'icmp', ports: { from: 1 } }] } });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/^securityGroups\[\d\] \(bad\)\.rules\[0\]\.ports: ports need protocol tcp or udp \(not icmp\)$/);
    const s = await h.call('POST', `${F}/security-groups`, { body: { name: 'bad', rules: [{ direction: 'up', action: 'deny', protocol: 'tcp' }] } });
    expect(s.status).toBe(400);
    expect(s.json.path).toMatch(/rules.*0.*direction/); // where (the schema's refusal)
    expect((await h.call('GET', `${F}/security-groups`, { role: 'viewer' })).json.items.map((g: { name: string }) => g.name)).toEqual(['no-ssh']);
  });

  test('storm control on an FRR VPG: 400 naming the device; attaching a group pushes only its leaf', async () => {
    expect((await h.call('POST', `${F}/port-profiles`, { body: { name: 'storm5', stormControl: { bandwidthPercent: 5 } } })).status).toBe(201);
    expect((await h.call('DELETE', `${F}/vpgs/bms1`)).status).toBe(202);
    const r = await h.call('POST', `${F}/vpgs`, { body: vpg({ portProfile: 'storm5' }) });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/port profile "storm5" sets storm control, which FRR device leaf1 does not support/);
    const ok = await h.call('POST', `${F}/vpgs`, { body: vpg({}, { securityGroups: ['no-ssh'] }) });
    expect(ok.status).toBe(201);
    expect(ok.json.devices).toEqual(['leaf1']);
    await h.waitJob(ok.json.jobId);
    const intended = await h.store.getIntendedConfig('sg1', 'leaf1');
    expect(JSON.stringify(intended)).toContain('port-filter swp10');
  });

  test('a group or profile in use cannot be deleted (409); unused it can', async () => {
    const r = await h.call('DELETE', `${F}/security-groups/no-ssh`);
    expect(r.status).toBe(409);
    expect(r.json.message).toBe('security group "no-ssh" is still used by vpg bms1');
    expect((await h.call('DELETE', `${F}/port-profiles/storm5`)).status).toBe(202);
    expect((await h.call('DELETE', `${F}/vpgs/bms1`)).status).toBe(202);
    expect((await h.call('DELETE', `${F}/security-groups/no-ssh`)).status).toBe(202);
  });
});
