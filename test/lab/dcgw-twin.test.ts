// DC gateway to the outside on a real twin (issue 16): netns backend, --preconfigured, a spine
// (route reflector), an ERB leaf with a BMS, a DC gateway, and an outside router from the
// topology's `routers:` (FRR with its own config, not part of the fabric) announcing
// 203.0.113.0/24 from AS 65200. The fabric is autoconfigured through the real job system; the
// external network is then created and deleted through the same use case the REST routes call
// (changeServicesAndPush: store transaction, changed devices, follow-up push). Proves: the EBGP
// session in the gateway's VRF comes up, the leaf learns 203.0.113.0/24 as an EVPN type-5
// route, the BMS pings 203.0.113.1 through the gateway, the outside router learns only the
// tenant subnet; after the delete the route is withdrawn from the leaf and the ping fails.
// The tenant VRF needs the kernel's VRF support: on a kernel without it (this machine's 6.18
// build has none) the three fabric tests are skipped with a warning, and the outside router's
// own test (its config runs, its cable works, `down` stops its daemons) still runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { LabPaths, recordedPids } from '../../src/lab/state';
import { startLocalRedis, connectRedis, type LocalRedis } from '../../src/store/redis-server';
import { Store } from '../../src/store';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush } from '../../src/jobs/push';
import { changeServicesAndPush } from '../../src/jobs/intent-change';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import type { ExternalNetworkSpec } from '../../src/domain/types';
import { relay, sh, inNs, within, namespaces, alive, waitUntil, type Relay, jobFinished } from './helpers';

jest.setTimeout(300_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', '/usr/lib/frr/staticd', 'vtysh', 'lldpd', 'snmpd', 'redis-server', 'ping'] });

// 'dg' + 4: this engineer's prefix, within the 8-character lab name rule
const LAB = `dg${[...randomBytes(4)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('')}`;
const ROOT = mkdtempSync(join(tmpdir(), 'dg-lab-'));
const F = 'dcgw';
const DEVICES = [
  { name: 'spine1', serial: 'SIM0001', physicalRole: 'spine', roles: ['Route-Reflector'] },
  { name: 'leaf1', serial: 'SIM0101', physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] },
  { name: 'gw1', serial: 'SIM0201', physicalRole: 'gateway', roles: ['DC-Gateway'] },
];
const LINKS = [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'gw1:swp51']];
const OUTSIDE_CONF = `hostname ext1
interface eth1
 ip address 192.0.2.1/31
exit
interface lo
 ip address 203.0.113.1/24
exit
router bgp 65200
 bgp router-id 203.0.113.1
 no bgp ebgp-requires-policy
 neighbor 192.0.2.0 remote-as 64512
 address-family ipv4 unicast
  network 203.0.113.0/24
 exit-address-family
exit
`;
const EXTERNAL: ExternalNetworkSpec = {
  name: 'inet', logicalRouter: 't1', peerAsn: 65200,
  gateways: [{ device: 'gw1', port: 'swp1', address: '192.0.2.0/31', peer: '192.0.2.1' }],
  import: ['203.0.113.0/24'],
};


/** VRF netdevs in this kernel? Probed in a scratch namespace of ours (never the host's). */
function kernelHasVrf(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const probe = `dgprobe${process.pid % 100000}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return false;
  try {
    return spawnSync('ip', ['-n', probe, 'link', 'add', 'v', 'type', 'vrf', 'table', '4242']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
}
const HAVE_VRF = kernelHasVrf();
if (!HAVE_VRF) console.warn('dcgw twin: this kernel has no VRF support: the DC gateway fabric tests are skipped (the outside router test runs)');
const withVrf = HAVE_VRF ? test : test.skip;

d('DC gateway on a twin: an outside router behind gw1, reached from a BMS, withdrawn on delete', () => {
  const relays = new Map<string, Relay>();
  let dir: string;
  let server: LocalRedis;
  let redis: Redis;
  let store: Store;
  let jobs: JobSystem;
  const ns = (n: string) => `${LAB}-${n}`;
  const finished = (id: string, ms = 200_000): Promise<JobView> => jobFinished(jobs, id, ms);
  const vtyJson = async (node: string, cmd: string): Promise<Record<string, unknown>> => {
    const r = await sh(['vtysh', '-N', ns(node), '-c', cmd], { timeoutMs: 15_000 });
    try { return JSON.parse(r.stdout || '{}') as Record<string, unknown>; } catch { return {}; }
  };
  const leafHasOutside = async () => Object.hasOwn(await vtyJson('leaf1', 'show ip route vrf t1 203.0.113.0/24 json'), '203.0.113.0/24');
  const ping = async () => (await inNs(ns('bms1'), ['ping', '-c', '1', '-W', '1', '203.0.113.1'], { timeoutMs: 5000 })).code === 0;
  const outsideRoutes = async () => Object.keys((await vtyJson('ext1', 'show ip route bgp json')));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dg-'));
    writeFileSync(join(dir, 'ext1.frr.conf'), OUTSIDE_CONF);
    const topo = validateTopology({
      name: LAB,
      devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
      routers: [{ name: 'ext1', config: 'ext1.frr.conf' }],
      links: [...LINKS, ['gw1:swp1', 'ext1:eth1']],
      servers: [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }],
      management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
      credentials: { username: 'admin', password: 's3cret' },
      snmp: { community: 'fabric-ro' },
    });
    const up = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180, topologyDir: dir });
    await inNs(ns('bms1'), ['ip', 'route', 'add', 'default', 'via', '10.10.0.1']);
    if (!HAVE_VRF) return;
    const byIp = new Map<string, Relay>();
    for (const dev of DEVICES) {
      const rl = await relay(LAB, up.managementIps[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(up.managementIps[dev.name], rl);
    }
    server = await startLocalRedis({ dataDir: dir });
    redis = connectRedis(server.url);
    store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric({
      fabric: {
        name: F, credentials: { username: 'admin', password: 's3cret' }, snmp: { community: 'fabric-ro' }, settings: { bfd: { intervalMs: 0 } },
        namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
      },
      devices: DEVICES.map((x) => ({ ...x, profile: 'frr-switch' })),
      links: LINKS,
      virtualNetworks: [{ name: 'web', vni: 10100, subnet: '10.10.0.0/24', gateway: '10.10.0.1' }],
      logicalRouters: [{ name: 't1', mode: 'erb', networks: ['web'], vni: 20001 }],
      servers: [{ name: 'bms1', nics: ['leaf1:swp10'] }],
      vpgs: [{ name: 'vpg1', server: 'bms1', ports: ['leaf1:swp10'], bindings: [{ network: 'web', untagged: true }] }],
    });
    for (const dev of DEVICES) await store.updateDevice(F, dev.name, { managementIp: up.managementIps[dev.name] });
    const push = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 60_000, verifyPollMs: 1000, rpcTimeoutMs: 10_000, confirmTimeoutSeconds: 120,
    }).push;
    const conns: Redis[] = [];
    jobs = new JobSystem({
      connection: redis, connect: () => { const c = connectRedis(server.url); conns.push(c); return c; }, lockBackend: store, lockTtlMs: 60_000,
      types: new JobTypes().register(autoconfigureJob({ push })),
    });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: 10 });
    const v = await finished(await jobs.submit('autoconfigure', F, {}));
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
  });

  afterAll(async () => {
    const pids = recordedPids(new LabPaths(LAB, ROOT).pidFile).map((e) => e.pid);
    await within(jobs?.close(), 10_000);
    try { redis?.disconnect(); } catch { /* closing */ }
    await within(server?.stop(), 10_000);
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    if (dir) rmSync(dir, { recursive: true, force: true });
    rmSync(ROOT, { recursive: true, force: true });
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
    // the outside router's daemons were recorded and are gone too
    expect(pids.filter(alive)).toEqual([]);
  });

  test('the outside router (topology routers:) runs its own config and is cabled to gw1:swp1', async () => {
    const pids = recordedPids(new LabPaths(LAB, ROOT).pidFile).filter((e) => e.node === 'ext1');
    expect(pids.map((e) => e.what).sort()).toEqual(['bgpd', 'staticd', 'zebra']);
    expect(pids.filter((e) => !alive(e.pid))).toEqual([]);
    // its config: the prefix connected, the EBGP neighbour configured (not up: nothing answers yet)
    await waitUntil('ext1 has 203.0.113.0/24 connected', async () => Object.keys(await vtyJson('ext1', 'show ip route connected json')).includes('203.0.113.0/24'), 30_000);
    const nb = (await vtyJson('ext1', 'show bgp neighbors 192.0.2.0 json'))['192.0.2.0'] as { remoteAs?: number; bgpState?: string } | undefined;
    expect(nb?.remoteAs).toBe(64512);
    expect(nb?.bgpState).not.toBe('Established');
    if (HAVE_VRF) return; // the fabric owns gw1:swp1 below; without VRF, probe the cable by hand
    expect((await inNs(ns('gw1'), ['ip', 'addr', 'add', '192.0.2.0/31', 'dev', 'swp1'])).code).toBe(0);
    try {
      await waitUntil('gw1 pings ext1 over the cable', async () => (await inNs(ns('gw1'), ['ping', '-c', '1', '-W', '1', '192.0.2.1'], { timeoutMs: 5000 })).code === 0, 30_000, 500);
    } finally {
      await inNs(ns('gw1'), ['ip', 'addr', 'del', '192.0.2.0/31', 'dev', 'swp1']);
    }
  });

  withVrf('before the external network: nothing of the outside reaches the tenant', async () => {
    expect(await leafHasOutside()).toBe(false);
    expect(await ping()).toBe(false);
  });

  withVrf('created: only the gateway is pushed; EBGP in its VRF, type-5 to the leaf, the BMS pings the outside', async () => {
    const r = await changeServicesAndPush({ store, jobs }, F, (cur) => ({ next: { ...cur, externalNetworks: [EXTERNAL] }, result: EXTERNAL.name }), { actor: 'test' });
    expect(r.devices).toEqual(['gw1']);
    const v = await finished(r.jobId!);
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    expect(Object.keys(v.devices)).toEqual(['gw1']);
    // the EBGP session in the tenant's VRF on the gateway
    await waitUntil('gw1 EBGP to ext1 Established', async () => {
      const s = await vtyJson('gw1', 'show bgp vrf t1 ipv4 unicast summary json');
      const peers = (s.peers ?? {}) as Record<string, { state?: string }>;
      return peers['192.0.2.1']?.state === 'Established';
    }, 60_000, 500);
    await waitUntil('leaf1 learns 203.0.113.0/24 in VRF t1', leafHasOutside, 60_000, 500);
    const route = (await vtyJson('leaf1', 'show ip route vrf t1 203.0.113.0/24 json'))['203.0.113.0/24'] as { protocol: string }[];
    expect(route[0].protocol).toBe('bgp');
    await waitUntil('bms1 pings 203.0.113.1 through gw1', ping, 60_000, 500);
    // the outside router learns the tenant subnet and nothing of the fabric's own space
    const learned = await outsideRoutes();
    expect(learned).toContain('10.10.0.0/24');
    expect(learned.filter((p) => p.startsWith('10.255.') || p.startsWith('10.254.'))).toEqual([]);
  });

  withVrf('deleted: the gateway is pushed again, the route is withdrawn from the leaf, the ping fails', async () => {
    const r = await changeServicesAndPush({ store, jobs }, F, (cur) => ({ next: { ...cur, externalNetworks: [] }, result: 'inet' }), { actor: 'test' });
    expect(r.devices).toEqual(['gw1']);
    const v = await finished(r.jobId!);
    expect(v.state).toBe('succeeded');
    await waitUntil('leaf1 withdraws 203.0.113.0/24', async () => !(await leafHasOutside()), 60_000, 500);
    expect(await ping()).toBe(false);
    await waitUntil('ext1 loses the tenant subnet', async () => !(await outsideRoutes()).includes('10.10.0.0/24'), 60_000, 500);
    // gw1's port left the VRF and lost its address
    const addr = await inNs(ns('gw1'), ['ip', '-o', 'addr', 'show', 'dev', 'swp1']);
    expect(addr.stdout).not.toContain('192.0.2.0');
  });
});
