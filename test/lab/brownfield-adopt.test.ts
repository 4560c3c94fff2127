// Brownfield adoption on a real twin (netns backend, `--preconfigured --running`): four FRR
// devices boot with an underlay written by hand (loopbacks, /31s and ASNs unlike the pools'
// order, two links addressed "the other way round", and lines the service never renders: a
// prefix-list, a route-map on the underlay sessions, neighbour descriptions with a ticket). The
// onboarding (sweep, SNMP, NETCONF facts and running config, inside the lab's controller
// namespace) adopts them as the allocations, manageUnderlay false by default; autoconfigure then
// adds the EVPN overlay in each device's running AS and leaves the underlay as it runs. Shown:
// the dry run adds overlay lines only and removes nothing, the hand-written lines are still
// there after the push, the loopbacks and link addresses are unchanged, no underlay session was
// reset (its uptime kept growing across the push), the EVPN sessions are up and the two servers
// ping each other over the L2VNI. Then manageUnderlay true: the service takes the underlay over
// (the dry run names the hand-written lines it drops), still without a session reset; and the
// renumber guard.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describeIf } from '../helpers/env';
import { startDiscoveryFixture, src, type DiscoveryFixture } from '../helpers/discovery-fixture';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { JobSystem, JobTypes, type JobView } from '../../src/jobs';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { createPush, type DevicePush } from '../../src/jobs/push';
import { computeDrift } from '../../src/jobs/drift';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { inNs, relay, within, namespaces, waitUntil, type Relay, jobFinished } from './helpers';

jest.setTimeout(400_000);

// TEST_LAB_PREFIX: engineers sharing a machine keep their namespaces apart
const LAB = `${process.env.TEST_LAB_PREFIX ?? 'bf'}${randomBytes(3).toString('hex').slice(0, 5)}`;
const F = 'bfa';
const PW = 'Bf-adopt-1';
const DEVICES = [
  { name: 'spine1', serial: 'BFA0001', physicalRole: 'spine', roles: ['Route-Reflector'], lo: '10.255.0.200', asn: 64700 },
  { name: 'spine2', serial: 'BFA0002', physicalRole: 'spine', roles: ['Route-Reflector'], lo: '10.255.0.150', asn: 64690 },
  { name: 'leaf1', serial: 'BFA0011', physicalRole: 'leaf', roles: ['CRB-Access'], lo: '10.255.0.77', asn: 64650 },
  { name: 'leaf2', serial: 'BFA0012', physicalRole: 'leaf', roles: ['CRB-Access'], lo: '10.255.0.33', asn: 64620 },
] as const;
// [a end, its address, b end, its address]: spine1:swp1 and spine2:swp1 run the upper address
const LINKS: [string, string, string, string][] = [
  ['spine1:swp1', '10.254.7.1', 'leaf1:swp51', '10.254.7.0'],
  ['spine1:swp2', '10.254.7.8', 'leaf2:swp51', '10.254.7.9'],
  ['spine2:swp1', '10.254.3.3', 'leaf1:swp52', '10.254.3.2'],
  ['spine2:swp2', '10.254.3.6', 'leaf2:swp52', '10.254.3.7'],
];

const TICKET = 'NET-4711';
/** lines of the hand-written configs the service never renders */
const HAND_ONLY = ['ip prefix-list LOOPBACKS seq 5 permit 10.255.0.0/24 le 32', 'route-map UNDERLAY-IN permit 10', ' match ip address prefix-list LOOPBACKS', 'exit'];

/** A hand-written EBGP underlay in the house style of the network (not rendered by the service). */
function handWritten(name: string): string {
  const d = DEVICES.find((x) => x.name === name)!;
  const ports: { port: string; address: string; peer: string; peerAddress: string }[] = [];
  for (const [a, aa, b, ba] of LINKS) {
    const [an, ap] = a.split(':');
    const [bn, bp] = b.split(':');
    if (an === name) ports.push({ port: ap, address: aa, peer: bn, peerAddress: ba });
    if (bn === name) ports.push({ port: bp, address: ba, peer: an, peerAddress: aa });
  }
  const asnOf = (n: string) => DEVICES.find((x) => x.name === n)!.asn;
  return [
    'frr version 8.4', 'frr defaults datacenter', `hostname ${name}`, 'log syslog informational', 'service integrated-vtysh-config', '!',
    'interface lo', ` ip address ${d.lo}/32`, 'exit', '!',
    ...ports.flatMap((p) => [`interface ${p.port}`, ` ip address ${p.address}/31`, 'exit', '!']),
    `router bgp ${d.asn}`, ` bgp router-id ${d.lo}`, ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax', ' bgp graceful-restart',
    ...ports.flatMap((p) => [` neighbor ${p.peerAddress} remote-as ${asnOf(p.peer)}`, ` neighbor ${p.peerAddress} description ${TICKET} ${p.peer}`]),
    ' !', ' address-family ipv4 unicast', `  network ${d.lo}/32`,
    ...ports.flatMap((p) => [`  neighbor ${p.peerAddress} activate`, `  neighbor ${p.peerAddress} route-map UNDERLAY-IN in`]), ' exit-address-family',
    'exit', '!', ...HAND_ONLY, '!', 'end', '',
  ].join('\n');
}

const topo = validateTopology({
  name: LAB,
  devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch' })),
  links: LINKS.map(([a, , b]) => [a, b]),
  servers: [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }, { name: 'bms2', nics: ['leaf2:swp10'], address: '10.10.0.12/24' }],
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: PW },
  snmp: { community: 'bfa-ro' },
});


/** Underlay (ipv4 unicast) sessions of a device as bgpd reports them: peer -> {state, uptime ms}. */
async function underlaySessions(dev: string): Promise<Map<string, { state: string; upMs: number }>> {
  const r = await inNs(`${LAB}-${dev}`, ['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show bgp ipv4 unicast summary json']);
  const j = JSON.parse(r.stdout || '{}') as { peers?: Record<string, { state?: string; peerUptimeMsec?: number }> };
  return new Map(Object.entries(j.peers ?? {}).map(([p, v]) => [p, { state: v.state ?? '?', upMs: v.peerUptimeMsec ?? 0 }]));
}

/** What bgpd runs (vtysh show running-config). */
async function runningConf(dev: string): Promise<string> {
  return (await inNs(`${LAB}-${dev}`, ['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show running-config'])).stdout;
}

async function evpnStates(dev: string): Promise<Record<string, string>> {
  const r = await inNs(`${LAB}-${dev}`, ['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show bgp l2vpn evpn summary json']);
  const j = JSON.parse(r.stdout || '{}') as { peers?: Record<string, { state?: string }> };
  return Object.fromEntries(Object.entries(j.peers ?? {}).map(([p, v]) => [p, v.state ?? '?']));
}

/** ipv4 addresses of lo and the fabric ports, as the kernel has them. */
async function addresses(dev: string): Promise<string[]> {
  const r = await inNs(`${LAB}-${dev}`, ['ip', '-j', '-4', 'addr', 'show']);
  const arr = JSON.parse(r.stdout || '[]') as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
  return arr.filter((i) => i.ifname === 'lo' || /^swp5?\d$/.test(i.ifname))
    .flatMap((i) => (i.addr_info ?? []).filter((a) => a.local !== '127.0.0.1').map((a) => `${i.ifname} ${a.local}/${a.prefixlen}`)).sort();
}

describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd', 'fping', 'redis-server'] })('brownfield adoption of a hand-numbered 2x2 twin', () => {
  let fx: DiscoveryFixture | undefined;
  let jobs: JobSystem | undefined;
  const relays = new Map<string, Relay>();
  let root = '';
  let onboard: any;
  let out = '';
  let devicePush: DevicePush | undefined;
  const mgmt = new Map<string, string>();
  const before = new Map<string, string[]>();

  const finished = (id: string, ms = 300_000): Promise<JobView> => jobFinished(jobs!, id, ms);

  beforeAll(async () => {
    fx = await startDiscoveryFixture({
      prefix: `${process.env.TEST_LAB_PREFIX ?? 'bf'}-adopt-`,
      fabric: {
        fabric: {
          name: F, credentials: { username: 'admin', password: PW }, snmp: { community: 'bfa-ro' },
          namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
        },
        devices: DEVICES.map((x) => ({ name: x.name, serial: x.serial, profile: 'frr-switch', physicalRole: x.physicalRole, roles: [...x.roles] })),
        links: [],
        virtualNetworks: [{ name: 'web', vni: 10010 }],
        servers: [{ name: 'bms1', nics: [{ device: 'leaf1', port: 'swp10' }] }, { name: 'bms2', nics: [{ device: 'leaf2', port: 'swp10' }] }],
        vpgs: [
          { name: 'bms1', server: 'bms1', ports: [{ device: 'leaf1', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
          { name: 'bms2', server: 'bms2', ports: [{ device: 'leaf2', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
        ],
      } as never,
    });
    root = join(fx.dir, 'lab');
    const running = Object.fromEntries(DEVICES.map((d) => [d.name, { frrConf: handWritten(d.name) }]));
    const up = await netnsBackend.up(topo, { preconfigured: true, running, root, timeoutSeconds: 180 });
    // the hand-written underlay converges on its own (nothing of the service is involved yet)
    await waitUntil('hand-written underlay up', async () => {
      for (const d of DEVICES) {
        const s = await underlaySessions(d.name);
        if (s.size !== 2 || [...s.values()].some((x) => x.state !== 'Established')) return false;
      }
      return true;
    }, 120_000, 1000);
    for (const d of DEVICES) before.set(d.name, await addresses(d.name));
    const script = `
const Redis = require('ioredis');
const { Store } = require(${src('src/store/index.ts')});
const { runOnboarding } = require(${src('src/discovery/onboard.ts')});
(async () => {
  const redis = new Redis({ path: ${JSON.stringify(fx.sock)} });
  const store = new Store(redis, { secretKey: Buffer.from(${JSON.stringify(fx.key.toString('hex'))}, 'hex') });
  const log = (m) => console.log('LOG ' + m);
  let r;
  // LLDP needs a few seconds after the lab is up: onboard again (bounded) until no link is one-sided
  for (let i = 0; i < 12; i++) {
    r = await runOnboarding({ fabric: ${JSON.stringify(F)}, params: { mode: 'brownfield', subnets: ['10.0.0.0/24'] }, services: { store, redis, config: { discoveryAllow: ['10.0.0.0/24'] } }, log });
    if (!r.incomplete && r.links.found === 4 && !r.anomalies.some((a) => a.kind === 'one-sided' || a.kind === 'outside-fabric')) break;
    await new Promise((res) => setTimeout(res, 5000));
  }
  console.log('RESULT ' + JSON.stringify(r));
  redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + (e && e.stack || e)); process.exit(1); });
`;
    ({ results: [onboard] } = await fx.runChild(`${LAB}-ctl`, script, { timeoutMs: 240_000, results: 1, tail: 4000, onOutput: (o) => { out = o; } }));
    const byIp = new Map<string, Relay>();
    for (const dev of topo.devices) {
      mgmt.set(dev.name, up.managementIps[dev.name]);
      const rl = await relay(LAB, up.managementIps[dev.name], 830);
      relays.set(dev.name, rl);
      byIp.set(up.managementIps[dev.name], rl);
    }
    const push = devicePush = createPush({
      resolveEndpoint: ({ managementIp }) => ({ host: '127.0.0.1', port: byIp.get(managementIp)!.port }),
      verifyTimeoutMs: 60_000, verifyPollMs: 1000, rpcTimeoutMs: 10_000, confirmTimeoutSeconds: 120,
    });
    const conns: Redis[] = [];
    jobs = new JobSystem({
      connection: fx.redis, connect: () => { const c = new Redis({ path: fx!.sock, maxRetriesPerRequest: null }); conns.push(c); return c; },
      lockBackend: fx.store, lockTtlMs: 60_000, types: new JobTypes().register(autoconfigureJob({ push: push.push })),
    });
    await jobs.startWorkers({ redis: fx.redis, config: loadConfig({ DATA_DIR: fx.dir }), logger: createLogger({ level: 'silent' }), store: fx.store }, { concurrency: 8 });
  }, 390_000);

  afterAll(async () => {
    await within(jobs?.close() ?? Promise.resolve(), 10_000);
    for (const r of relays.values()) await within(r.close().catch(() => undefined), 3000);
    if (root) await netnsBackend.down(LAB, { root });
    fx?.stop();
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
  }, 60_000);

  test('the onboarding adopts what runs: loopbacks, ASNs and link subnets become the allocations', async () => {
    expect(onboard.failed).toEqual([]);
    expect(onboard.incomplete).toBeUndefined();
    expect(onboard.adopted).toMatchObject({ loopbacks: 4, asns: 4, links: 4, outsidePools: [] });
    const a = await fx!.store.getAllocations(F);
    expect(a.loopbacks).toEqual(Object.fromEntries(DEVICES.map((d) => [d.name, d.lo])));
    expect(a.asns).toEqual(Object.fromEntries(DEVICES.map((d) => [d.name, d.asn])));
    expect(Object.values(a.links).sort()).toEqual(['10.254.3.2/31', '10.254.3.6/31', '10.254.7.0/31', '10.254.7.8/31']);
    // every stored link's `a` end is the one running the lower address
    for (const l of await fx!.store.listLinks(F)) {
      const row = LINKS.find(([x, , y]) => [x, y].sort().join() === [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join())!;
      const lower = row[1] < row[3] ? row[0] : row[2];
      expect(`${l.a.device}:${l.a.port}`).toBe(lower);
    }
    // the default for brownfield: the running underlay stays the devices' own
    expect((await fx!.store.getFabric(F))!.settings.brownfield).toEqual({ manageUnderlay: false });
    expect(out).not.toContain(PW);
  });

  test('BGP4-MIB over SNMP (bgpd an AgentX subagent of the device\'s snmpd) agrees with NETCONF on every neighbour', async () => {
    expect([...onboard.bgpMib.compared].sort()).toEqual(DEVICES.map((d) => d.name).sort());
    expect(onboard.bgpMib.without).toEqual([]);
    expect(onboard.anomalies.filter((a: { kind: string }) => a.kind === 'bgp-mib')).toEqual([]);
    // the MIB as the service reads it: each device's two underlay peers, Established, their ASNs
    const rows = await fx!.runChild(`${LAB}-ctl`, `
const { SnmpDevice } = require(${src('src/discovery/snmp.ts')});
(async () => {
  const s = new SnmpDevice(${JSON.stringify(mgmt.get('leaf1'))}, { settings: { community: 'bfa-ro' } });
  console.log('RESULT ' + JSON.stringify(await s.bgpPeers()));
  s.close();
  process.exit(0);
})().catch((e) => { console.error('CHILD FAILED ' + e); process.exit(1); });
`, { timeoutMs: 30_000, results: 1, tail: 2000 });
    const peers = rows.results[0] as { peer: string; state: string; remoteAs: number; localAddress: string }[];
    expect(peers.map((x) => `${x.peer} ${x.state} ${x.remoteAs} ${x.localAddress}`)).toEqual(['10.254.3.3 Established 64690 10.254.3.2', '10.254.7.1 Established 64700 10.254.7.0']);
  });

  /** Pushes the fabric; every underlay session must be the one that ran before (uptime grew by the push's duration). */
  async function pushKeepingSessions(): Promise<JobView> {
    const uptime = new Map<string, Map<string, { state: string; upMs: number }>>();
    for (const d of DEVICES) uptime.set(d.name, await underlaySessions(d.name));
    const t0 = Date.now();
    const v = await finished(await jobs!.submit('autoconfigure', F, {}));
    const pushMs = Date.now() - t0;
    expect(v.error).toBeUndefined();
    expect(v.state).toBe('succeeded');
    for (const d of DEVICES) {
      expect(v.devices[d.name].result).toMatchObject({ committed: true });
      expect(await addresses(d.name)).toEqual(before.get(d.name));
      const now = await underlaySessions(d.name);
      expect(now.size).toBe(2);
      for (const [peer, was] of uptime.get(d.name)!) {
        expect(`${d.name} ${peer} ${now.get(peer)?.state}`).toBe(`${d.name} ${peer} Established`);
        expect(now.get(peer)!.upMs).toBeGreaterThanOrEqual(was.upMs + pushMs - 2000);
      }
    }
    const lo = (n: string) => DEVICES.find((x) => x.name === n)!.lo;
    for (const leaf of ['leaf1', 'leaf2']) {
      expect(await evpnStates(leaf)).toEqual({ [lo('spine1')]: 'Established', [lo('spine2')]: 'Established' });
    }
    return v;
  }

  test('manageUnderlay false: the dry run only adds the overlay; the push keeps every hand-written line, no underlay reset, EVPN up, servers ping', async () => {
    const dry = await finished(await jobs!.submit('autoconfigure', F, { dryRun: true }));
    expect(dry.state).toBe('succeeded');
    for (const d of DEVICES) {
      const r = dry.devices[d.name].result as { diff: string; renumber?: string[] };
      expect(r.renumber).toBeUndefined();
      const body = r.diff.split('\n').filter((l) => !/^(---|\+\+\+|@@|Index|=)/.test(l));
      // nothing that runs goes; what comes is the overlay: no address, interface or underlay line
      expect(body.filter((l) => l.startsWith('-'))).toEqual([]);
      const added = body.filter((l) => l.startsWith('+')).map((l) => l.slice(1));
      expect(added.length).toBeGreaterThan(0);
      expect(added.filter((l) => /ip address|^interface (lo|swp5)|network 10\.255|bgp router-id|^router bgp/.test(l))).toEqual([]);
      expect(added).toContain(` neighbor ${DEVICES.find((x) => x.name === (d.physicalRole === 'leaf' ? 'spine1' : 'leaf1'))!.lo} remote-as ${DEVICES.find((x) => x.name === (d.physicalRole === 'leaf' ? 'spine1' : 'leaf1'))!.asn}`);
      expect(added).toContain(' address-family l2vpn evpn');
    }
    await pushKeepingSessions();
    for (const d of DEVICES) {
      const conf = await runningConf(d.name);
      for (const l of HAND_ONLY.filter((x) => x !== 'exit')) expect(`${d.name}: ${conf.includes(l)}`).toBe(`${d.name}: true`);
      expect(conf).toContain(`description ${TICKET} `);
      expect(conf).toMatch(/neighbor \S+ route-map UNDERLAY-IN in/);
      expect(conf).toContain(`router bgp ${d.asn}\n`);
    }
    await waitUntil('bms1 pings bms2 over the L2VNI', async () => (await inNs(`${LAB}-bms1`, ['ping', '-c', '1', '-W', '1', '10.10.0.12'])).code === 0, 60_000, 1000);
    // no drift: running is what a push of the service's part gives
    const drift = await computeDrift(fx!.store, F, { connectDevice: devicePush!.connect });
    expect(drift.map((d) => `${d.device} ${d.drift} ${d.error ?? ''}`).sort()).toEqual(DEVICES.map((d) => `${d.name} false `).sort());
    // pushing again finds nothing to change
    const again = await finished(await jobs!.submit('autoconfigure', F, { dryRun: true }));
    for (const d of DEVICES) expect((again.devices[d.name].result as { changed: boolean }).changed).toBe(false);
  });

  test('manageUnderlay true: the service takes the underlay over with the adopted values (the dry run names what it drops), still no session reset', async () => {
    await fx!.store.importAllocations(F, {}, { actor: 'test' }, { brownfield: { manageUnderlay: true } });
    const dry = await finished(await jobs!.submit('autoconfigure', F, { dryRun: true }));
    for (const d of DEVICES) {
      const r = dry.devices[d.name].result as { diff: string; renumber?: string[] };
      expect(r.renumber).toBeUndefined();
      expect(r.diff).toContain('-route-map UNDERLAY-IN permit 10');
      expect(r.diff).not.toMatch(/^-router bgp/m);
      expect(r.diff).not.toMatch(/^- ip address/m);
    }
    await pushKeepingSessions();
    for (const d of DEVICES) expect(await runningConf(d.name)).not.toContain('route-map UNDERLAY-IN');
    await waitUntil('bms1 pings bms2 over the L2VNI', async () => (await inNs(`${LAB}-bms1`, ['ping', '-c', '1', '-W', '1', '10.10.0.12'])).code === 0, 60_000, 1000);
  });

  test('a push that would renumber what runs is refused and the dry run names each change; renumber: true lifts the guard', async () => {
    // the fabric's record says leaf2 has another loopback: the plan would renumber the device
    await fx!.store.importAllocations(F, { loopbacks: { leaf2: '10.255.0.34' } });
    const dry = await finished(await jobs!.submit('autoconfigure', F, { dryRun: true, devices: ['leaf2'] }));
    expect(dry.devices.leaf2.result).toMatchObject({ renumber: ['loopback 10.255.0.33 -> 10.255.0.34', 'bgp router-id 10.255.0.33 -> 10.255.0.34 (resets every session)'] });
    const v = await finished(await jobs!.submit('autoconfigure', F, { devices: ['leaf2'] }));
    expect(v.state).toBe('failed');
    expect(v.devices.leaf2.error).toContain('would renumber the running underlay: loopback 10.255.0.33 -> 10.255.0.34');
    expect(await addresses('leaf2')).toEqual(before.get('leaf2'));
    // asked to renumber: no guard, the dry run's diff is the renumbering itself
    const asked = await finished(await jobs!.submit('autoconfigure', F, { dryRun: true, renumber: true, devices: ['leaf2'] }));
    const r = asked.devices.leaf2.result as { renumber?: string[]; diff: string };
    expect(r.renumber).toBeUndefined();
    expect(r.diff).toContain('+ ip address 10.255.0.34/32');
  });
});
