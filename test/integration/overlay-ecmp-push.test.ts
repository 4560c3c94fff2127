// overlay-ecmp after the bootstrap (issue 14, item 1): a QFX5120 given a type-5 role (ERB
// gateway) renders `forwarding-options vxlan-routing overlay-ecmp` in its type-5 group. Adding
// it restarts the PFE, so autoconfigure onto a device that does not run it is refused unless the
// device is drained, the other pushes (drain, undrain, follow-ups) leave it out, and a device
// whose bootstrap set it takes every push as usual. Real Redis, the project's
// NETCONF server in Junos mode on 127.0.0.1, the service's own push (src/jobs/push.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { planFromStore } from '../../src/jobs/plan-from-store';
import { createPush } from '../../src/jobs/push';
import type { PushContext } from '../../src/jobs/push-context';
import { renderDevice } from '../../src/platforms';
import { runsOverlayEcmp } from '../../src/platforms/junos/overlay-ecmp';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type NetconfListener } from '../../src/lab/netconf-server';

const FABRIC = readFileSync(join(__dirname, '../golden/fabrics/services-junos.yaml'), 'utf8');
const BOOTSTRAP_ECMP = '<forwarding-options><vxlan-routing><overlay-ecmp/></vxlan-routing></forwarding-options>';

test('runsOverlayEcmp reads the statement at the top level or in a group, and nothing else', () => {
  expect(runsOverlayEcmp(`<configuration>${BOOTSTRAP_ECMP}</configuration>`)).toBe(true);
  expect(runsOverlayEcmp(`<configuration><groups><name>__fabric_overlay_evpn_type5__</name>${BOOTSTRAP_ECMP}</groups></configuration>`)).toBe(true);
  expect(runsOverlayEcmp('<configuration><forwarding-options><vxlan-routing/></forwarding-options></configuration>')).toBe(false);
  expect(runsOverlayEcmp('<configuration><system><host-name>overlay-ecmp</host-name></system></configuration>')).toBe(false);
});

describeIf({ commands: ['redis-server'] })('overlay-ecmp push guard (Junos, real Redis + NETCONF server)', () => {
  let t: TestRedis;
  let store: Store;
  let server: NetconfServer;
  const devices: NetconfDevice[] = [];
  const listeners: NetconfListener[] = [];

  beforeAll(async () => {
    t = await startTestRedis();
    store = new Store(t.client(), { secretKey: t.secretKey });
    server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 's3cret' }]) });
    await store.createFabric(FABRIC);
    await store.updateDevice('svc2', 'leaf3', { managementIp: '10.0.0.13' });
    await store.updateDevice('svc2', 'leaf1', { managementIp: '10.0.0.11' });
  });
  afterAll(async () => {
    for (const l of listeners) await l.close();
    await server?.close();
    for (const d of devices) d.dispose();
    await t?.stop();
  });

  async function device(id: string, running: string): Promise<{ dev: NetconfDevice; port: number }> {
    const dev = new NetconfDevice({ id, junos: true, facts: { hostname: id, model: 'qfx5120-48y', serial: `JN-${id}`, osVersion: '23.4R1' }, running });
    devices.push(dev);
    const l = await server.listen(dev, { host: '127.0.0.1', port: 0 });
    listeners.push(l);
    return { dev, port: l.port };
  }

  async function pushTo(name: string, port: number, extra: Partial<PushContext> = {}) {
    const { plans } = await planFromStore(store, 'svc2', true);
    const plan = plans.find((p) => p.name === name)!;
    const logs: string[] = [];
    const p = createPush({ resolveEndpoint: () => ({ host: '127.0.0.1', port }), verify: false, lockWaitMs: 2_000 });
    const ctx: PushContext = {
      jobId: `job-${name}-${Date.now()}`, fabric: 'svc2', device: name, plan, platform: plan.platform,
      files: renderDevice(plan).files, store, log: async (m) => { logs.push(m); }, checkCancel: async () => undefined, ...extra,
    };
    return { run: () => p.push(ctx), logs, plan };
  }

  test('an ERB leaf without overlay-ecmp: refused while in service (nothing committed), taken while drained', async () => {
    const { dev, port } = await device('leaf3', '<configuration><system><host-name>leaf3</host-name></system></configuration>');
    const before = dev.running;
    const first = await pushTo('leaf3', port, { pfeRestart: 'refuse' });
    expect(first.plan.overlayEcmp).toBe(true);
    await expect(first.run()).rejects.toThrow(/restarts the Packet Forwarding Engine: put the device in maintenance/);
    expect(dev.running).toBe(before);
    expect(runsOverlayEcmp(dev.running)).toBe(false);

    // A dry run says so, without refusing the job.
    const dry = await pushTo('leaf3', port, { dryRun: true, pfeRestart: 'refuse' });
    expect(await dry.run()).toMatchObject({ pfeRestart: true, refused: expect.stringContaining('overlay-ecmp') });

    // A push that is not autoconfigure's (the maintenance drain, say) leaves it out and goes on.
    const drain = await pushTo('leaf3', port);
    expect(await drain.run()).toMatchObject({ committed: true });
    expect(drain.logs.join('\n')).toContain('overlay-ecmp left out of this push');
    expect(dev.running).toContain('__fabric_overlay_evpn_type5__');
    expect(runsOverlayEcmp(dev.running)).toBe(false);

    const drained = await pushTo('leaf3', port, { pfeRestart: 'allow' });
    expect(await drained.run()).toMatchObject({ committed: true });
    expect(drained.logs.join('\n')).toContain('the Packet Forwarding Engine restarts (the device is drained)');
    expect(runsOverlayEcmp(dev.running)).toBe(true);

    // Back in service, the next push goes through: the device runs it now.
    const again = await pushTo('leaf3', port, { pfeRestart: 'refuse' });
    await expect(again.run()).resolves.toBeDefined();
  });

  test('a leaf whose bootstrap set overlay-ecmp takes the push in service; a CRB access leaf is not asked', async () => {
    const { port } = await device('leaf3b', `<configuration><system><host-name>leaf3</host-name></system>${BOOTSTRAP_ECMP}</configuration>`);
    const boot = await pushTo('leaf3', port, { pfeRestart: 'refuse' });
    expect(await boot.run()).toMatchObject({ committed: true });
    expect(boot.logs.join('\n')).not.toContain('Packet Forwarding Engine');

    const { port: p1 } = await device('leaf1', '<configuration><system><host-name>leaf1</host-name></system></configuration>');
    const access = await pushTo('leaf1', p1, { pfeRestart: 'refuse' });
    expect(access.plan.overlayEcmp).toBeUndefined();
    expect(await access.run()).toMatchObject({ committed: true });
  });
});
