// POST /fabrics/{f}/devices/{d}/rma over real HTTP, Redis and workers: the 4xx that say what is
// wrong (unknown fabric or device, bad serial, the old serial, a serial another device holds,
// a device already in rma, a viewer), and a real job with no DHCP server: it fails before
// anything changes (state and serial as they were).
import { describeIf } from '../helpers/env';
import { example, startApi, type ApiHarness } from '../helpers/api-harness';
import { rmaJob } from '../../src/jobs/rma/job';
import { createPush } from '../../src/jobs/push';

jest.setTimeout(90_000);

describeIf({ commands: ['redis-server'] })('RMA route (real HTTP, Redis, workers)', () => {
  let h: ApiHarness;
  const rma = (d: string, body: unknown, role: 'operator' | 'viewer' = 'operator', f = 'dc1') => h.call('POST', `/api/v1/fabrics/${f}/devices/${d}/rma`, { role, body });
  beforeAll(async () => {
    // Nothing leaves the host: every device "is" a closed port on 127.0.0.1.
    const dp = createPush({ resolveEndpoint: () => ({ host: '127.0.0.1', port: 1 }), connectTimeoutMs: 1000 });
    h = await startApi({ workers: true });
    h.jobs.types.register(rmaJob({ device: dp }));
    const fab = example('dc1-frr-services');
    fab.devices = fab.devices.map((d: object, i: number) => ({ ...d, managementIp: `10.0.0.${11 + i}`, serial: `SN${11 + i}` }));
    expect((await h.call('POST', '/api/v1/fabrics', { body: fab })).status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); });

  test('bad requests: 404, 400 naming the field, 403, 409 for a device already in rma', async () => {
    expect((await rma('leaf1', { serial: 'NEW1' }, 'operator', 'nofab')).status).toBe(404);
    const unknown = await rma('leaf9', { serial: 'NEW1' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe('device "leaf9" not found in fabric "dc1"');
    for (const body of [{ serial: 'a b' }, { serial: '' }, { serial: 'x'.repeat(65) }, {}, { serial: 'NEW1', force: true }]) {
      const r = await rma('leaf1', body);
      expect(r.status).toBe(400);
    }
    const leaf1 = (await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf1')).json;
    const leaf2 = (await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf2')).json;
    // leaf1's own serial is refused, and so is one another device holds
    const self = await rma('leaf1', { serial: leaf1.serial });
    expect(self.status).toBe(400);
    expect(self.json).toMatchObject({ path: 'serial', message: expect.stringMatching(/is the serial of the box being replaced/) });
    const taken = await rma('leaf1', { serial: leaf2.serial });
    expect(taken.status).toBe(400);
    expect(taken.json.message).toBe(`serial: ${leaf2.serial} already belongs to device leaf2`);
    expect((await rma('leaf1', { serial: 'NEW1' }, 'viewer')).status).toBe(403);
    // Already in rma: 409 saying how to run it again; nothing changed.
    expect((await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf2', { role: 'operator', body: { managedState: 'rma' } })).status).toBe(200);
    const again = await rma('leaf2', { serial: 'NEW2' });
    expect(again.status).toBe(409);
    expect(again.json.message).toMatch(/already in RMA .*retry: true/);
    await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf2', { role: 'operator', body: { managedState: 'active' } });
    expect((await h.call('GET', '/api/v1/fabrics/dc1')).json.lockedBy).toBeUndefined();
  });

  test('without a DHCP server the job fails before anything changes', async () => {
    const before = (await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf3')).json;
    const r = await rma('leaf3', { serial: 'NEW3' });
    expect(r.status).toBe(202);
    const job = await h.waitJob(r.json.jobId);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/RMA needs the DHCP server/);
    const after = (await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf3')).json;
    expect({ serial: after.serial, managedState: after.managedState }).toEqual({ serial: before.serial, managedState: before.managedState });
  });

  test('an autoconfigure skips a device in rma (log says why) and configures the rest', async () => {
    expect((await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf4', { role: 'operator', body: { managedState: 'rma' } })).status).toBe(200);
    const r = await h.call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    expect(r.status).toBe(202);
    const job = await h.waitJob(r.json.jobId);
    expect(job.state).toBe('succeeded');
    expect(job.log.map((l: { message: string }) => l.message)).toContain('skipped leaf4: in RMA (the replacement is pushed by its RMA job)');
    expect(Object.keys(job.devices).sort()).toEqual(['leaf1', 'leaf2', 'leaf3', 'spine1', 'spine2']);
    await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf4', { role: 'operator', body: { managedState: 'active' } });
  });
});
