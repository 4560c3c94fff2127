// POST /fabrics/{f}/upgrade and /devices/{d}/maintenance over real HTTP, Redis and workers:
// the dry-run plan for dc1 (2 spines, 4 leaves, a dual-homed server), the 400s that name the
// field, roles, and a real job whose first device cannot be reached: it fails saying what was
// and was not done, the other devices are never started, and the image is free again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { example, startApi, type ApiHarness } from '../helpers/api-harness';
import { upgradeJob } from '../../src/jobs/upgrade/job';
import { maintenanceJob } from '../../src/jobs/maintenance/job';
import { createPush } from '../../src/jobs/push';

jest.setTimeout(90_000);

describeIf({ commands: ['redis-server'] })('upgrade and maintenance routes (real HTTP, Redis, workers)', () => {
  let h: ApiHarness;
  let dir: string;
  beforeAll(async () => {
    // Nothing leaves the host: every device "is" a closed port on 127.0.0.1.
    const dp = createPush({ resolveEndpoint: () => ({ host: '127.0.0.1', port: 1 }), connectTimeoutMs: 1000 });
    h = await startApi({ workers: true });
    h.jobs.types.register(upgradeJob({ device: dp })).register(maintenanceJob({ device: dp }));
    const fab = example('dc1-frr-services');
    fab.devices = fab.devices.map((d: object, i: number) => ({ ...d, managementIp: `10.0.0.${11 + i}` }));
    expect((await h.call('POST', '/api/v1/fabrics', { body: fab })).status).toBe(201);
    dir = mkdtempSync(path.join(tmpdir(), 'd2-upg-'));
    writeFileSync(path.join(dir, 'frr.bin'), 'image bytes');
    expect((await h.call('POST', '/api/v1/images', { body: { name: 'frr-9.1', platform: 'frr', version: '9.1.0', path: path.join(dir, 'frr.bin') } })).status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('dry run: leaves before spines, the dual-homed leaves apart, half the spines at once; nothing changes', async () => {
    const one = await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'operator', body: { image: 'frr-9.1', dryRun: true } });
    expect(one.status).toBe(200);
    expect(one.json.batches.map((b: { devices: string[] }) => b.devices)).toEqual([['leaf1'], ['leaf2'], ['leaf3'], ['leaf4'], ['spine1'], ['spine2']]);
    expect(one.json.batches[0].reason).toMatch(/single-homed bms1 cut off while leaf1 reboots/);
    const four = await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'operator', body: { image: 'frr-9.1', dryRun: true, maxParallel: 4 } });
    // Every leaf is an ERB-UCAST-Gateway: at most 2 of the 4 at once; leaf3 and leaf4 share bms3.
    expect(four.json.batches.map((b: { devices: string[] }) => b.devices)).toEqual([['leaf1', 'leaf2'], ['leaf3'], ['leaf4'], ['spine1'], ['spine2']]);
    expect(four.json.batches[0].reason).toMatch(/leaf3 waits: at most half of the 4 ERB-UCAST-Gateways at once/);
    // A device already on the version is skipped and listed.
    await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf2', { role: 'operator', body: { osVersion: '9.1.0' } });
    const sk = await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'operator', body: { image: 'frr-9.1', dryRun: true, devices: ['leaf2', 'spine1'] } });
    expect(sk.json).toEqual({ batches: [{ devices: ['spine1'], reason: expect.stringMatching(/^spine tier/) }], skipped: [{ device: 'leaf2', reason: 'already on 9.1.0' }] });
    await h.call('PATCH', '/api/v1/fabrics/dc1/devices/leaf2', { role: 'operator', body: { osVersion: null } });
    expect((await h.call('GET', '/api/v1/fabrics/dc1')).json.lockedBy).toBeUndefined();
  });

  test('bad requests: 400 naming the field, 404, 403', async () => {
    const bad = async (body: unknown, path: string) => {
      const r = await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'operator', body });
      expect(r.status).toBe(400);
      expect(r.json.path).toBe(path);
    };
    await bad({ image: 'nope', dryRun: true }, 'image');
    await bad({ image: 'frr-9.1', devices: ['leaf9'], dryRun: true }, 'devices[0]');
    await bad({ image: 'frr-9.1', maxParallel: 0, dryRun: true }, 'maxParallel');
    await bad({ image: 'frr-9.1', force: true }, 'force');
    expect((await h.call('POST', '/api/v1/fabrics/nofab/upgrade', { role: 'operator', body: { image: 'frr-9.1' } })).status).toBe(404);
    expect((await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'viewer', body: { image: 'frr-9.1' } })).status).toBe(403);
    expect((await h.call('POST', '/api/v1/fabrics/dc1/devices/leaf9/maintenance', { role: 'operator', body: { enabled: true } })).status).toBe(404);
    expect((await h.call('POST', '/api/v1/fabrics/dc1/devices/leaf1/maintenance', { role: 'operator', body: { enabled: 'yes' } })).status).toBe(400);
    expect((await h.call('POST', '/api/v1/fabrics/dc1/devices/leaf1/maintenance', { role: 'viewer', body: { enabled: true } })).status).toBe(403);
  });

  test('an upgrade whose first device is unreachable fails before changing anything and says what was not done', async () => {
    const r = await h.call('POST', '/api/v1/fabrics/dc1/upgrade', { role: 'operator', body: { image: 'frr-9.1' } });
    expect(r.status).toBe(202);
    const job = await h.waitJob(r.json.jobId);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/upgrade stopped: leaf1 failed \(precheck: .*\); upgraded: none; not upgraded: leaf2, leaf3, leaf4, spine1, spine2/);
    expect(job.devices.leaf2.state).toBe('cancelled');
    expect(job.log.map((l: { message: string }) => l.message)).toEqual(expect.arrayContaining(['batch 1 of 6 had a failure: the plan stops here']));
    // Nothing was drained: leaf1 is still managed; the image is no longer in use.
    expect((await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf1')).json.managedState).toBe('dhcp');
    expect((await h.call('DELETE', '/api/v1/images/frr-9.1')).status).toBe(204);
  });

  test('maintenance job of an unreachable device fails and leaves its state as it was', async () => {
    const r = await h.call('POST', '/api/v1/fabrics/dc1/devices/leaf1/maintenance', { role: 'operator', body: { enabled: true } });
    expect(r.status).toBe(202);
    const job = await h.waitJob(r.json.jobId);
    expect(job.state).toBe('failed');
    expect((await h.call('GET', '/api/v1/fabrics/dc1/devices/leaf1')).json.managedState).toBe('dhcp');
  });
});
