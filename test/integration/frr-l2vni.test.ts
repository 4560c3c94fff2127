// A real L2VNI on this host's kernel (bridge + vxlan + veth): 1 spine (route reflector) and 2
// leaves (CRB-Access) of frr-switch, one virtual network (VNI 10100, 10.10.0.0/24) bound
// untagged on leaf1:swp10 and leaf2:swp10, a server namespace behind each. The leaves' netdevs
// come from the rendered `<leaf>.interfaces`, applied with the device agent's own parser and
// reconcile planner (src/lab/agent/interfaces.ts); FRR gets the rendered `<device>.frr.conf`.
// Proves: EVPN type-3 (IMET) routes from both VTEPs, type-2 MAC routes of both servers (MACs
// from the fabric file), and server1 pinging server2 across VXLAN. Cleans up namespaces,
// veths and daemons by name/pid even when something fails.
import { spawnSync } from 'node:child_process';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import type { DevicePlan, FabricFile } from '../../src/domain/types';
import { EMPTY_NETDEV_STATE, parseInterfaces, planReconcile } from '../../src/lab/agent/interfaces';
import { describeIf } from '../helpers/env';
import { FrrLab, LoadResult, pollUntil } from '../helpers/frr-lab';

const FABRIC = `
fabric:
  name: l2vni
  credentials: {username: admin, password: s3cret}
  settings: {bfd: {intervalMs: 0}}
  namespaces:
    management: [{cidr: 10.0.0.0/24, gateway: 10.0.0.1}]
    loopback: [10.255.0.0/24]
    fabric: [10.254.0.0/20]
    asn: [{min: 64601, max: 64700}]
    overlayAsn: 64512
devices:
  - {name: spine1, profile: frr-switch, physicalRole: spine, roles: [Route-Reflector]}
  - {name: leaf1, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf2, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
links:
  - [spine1:swp1, leaf1:swp51]
  - [spine1:swp2, leaf2:swp51]
virtualNetworks:
  - {name: web, vni: 10100, subnet: 10.10.0.0/24}
servers:
  - {name: bms1, nics: [{device: leaf1, port: swp10, mac: '52:54:00:aa:00:01'}]}
  - {name: bms2, nics: [{device: leaf2, port: swp10, mac: '52:54:00:aa:00:02'}]}
vpgs:
  - {name: vpg1, server: bms1, ports: [leaf1:swp10], bindings: [{network: web, untagged: true}]}
  - {name: vpg2, server: bms2, ports: [leaf2:swp10], bindings: [{network: web, untagged: true}]}
`;
const SERVER_ADDR: Record<string, string> = { bms1: '10.10.0.11/24', bms2: '10.10.0.12/24' };

const d = describeIf({
  root: true,
  commands: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh', 'ip', 'bridge', 'ping'],
});

function run(argv: string[], timeoutMs = 15000): { status: number | null; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function must(argv: string[]): string {
  const r = run(argv);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.out.trim()}`);
  return r.out;
}

function linksIn(ns: string): Set<string> {
  const out = must(['ip', '-n', ns, '-o', 'link', 'show']);
  return new Set(out.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter(Boolean));
}

d('a real L2VNI from the rendered config: EVPN type-2/3 and a ping over VXLAN', () => {
  let lab: FrrLab | undefined;
  let plans: DevicePlan[] = [];
  let file: FabricFile;
  const serverNs: string[] = [];
  const hostVeths: string[] = [];
  const loads = new Map<string, LoadResult>();
  const interfacesText = new Map<string, string>();
  const applied = new Map<string, string[][]>();

  beforeAll(async () => {
    const fp = planFabric(FABRIC);
    plans = fp.plans;
    file = fp.file;
    const rendered = new Map(plans.map((p) => [p.name, renderDevice(p).files]));
    lab = await FrrLab.create({ devices: plans.map((p) => p.name), links: file.links, daemons: ['zebra', 'bgpd'] });
    // Servers: a namespace each, cabled to its leaf port (eth1 on the server, as in the twin).
    for (const [i, s] of (file.servers ?? []).entries()) {
      const ns = `${lab.tag}-${s.name}`;
      must(['ip', 'netns', 'add', ns]);
      serverNs.push(ns);
      const nic = s.nics[0];
      const va = `${lab.tag}s${i}a`;
      const vb = `${lab.tag}s${i}b`;
      must(['ip', 'link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
      hostVeths.push(va);
      must(['ip', 'link', 'set', va, 'netns', lab.ns(nic.device)]);
      must(['ip', '-n', lab.ns(nic.device), 'link', 'set', va, 'name', nic.port]);
      must(['ip', '-n', lab.ns(nic.device), 'link', 'set', nic.port, 'up']);
      must(['ip', 'link', 'set', vb, 'netns', ns]);
      must(['ip', '-n', ns, 'link', 'set', vb, 'name', 'eth1']);
      must(['ip', '-n', ns, 'link', 'set', 'eth1', 'address', nic.mac!]);
      must(['ip', '-n', ns, 'addr', 'add', SERVER_ADDR[s.name], 'dev', 'eth1']);
      must(['ip', '-n', ns, 'link', 'set', 'eth1', 'up']);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Kernel netdevs first (as the agent does), then FRR.
    for (const p of plans) {
      const text = rendered.get(p.name)![`${p.name}.interfaces`];
      if (text === undefined) continue;
      interfacesText.set(p.name, text);
      const ns = lab.ns(p.name);
      const { commands } = planReconcile(parseInterfaces(text), EMPTY_NETDEV_STATE, linksIn(ns));
      applied.set(p.name, commands);
      for (const argv of commands) must(['ip', 'netns', 'exec', ns, ...argv]);
    }
    for (const p of plans) loads.set(p.name, lab.loadConfig(p.name, rendered.get(p.name)![`${p.name}.frr.conf`]));
  }, 120000);

  afterAll(async () => {
    for (const ns of serverNs) {
      for (const pid of (run(['ip', 'netns', 'pids', ns]).out.split('\n').map(Number).filter((n) => n > 0))) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      run(['ip', 'netns', 'del', ns]);
    }
    for (const v of hostVeths) run(['ip', 'link', 'del', v]);
    if (!lab) return;
    await lab.destroy();
    expect(lab.leftovers()).toEqual({ namespaces: [], runDirs: [], pids: [], links: [], tempDir: false });
  }, 30000);

  test('the leaves get vxlan10100 in br10100 with the access port; every device its fabric ports\' MTU', () => {
    expect([...interfacesText.keys()].sort()).toEqual(['leaf1', 'leaf2', 'spine1']);
    expect(interfacesText.get('spine1')).toBe(['# spine1: netdevs owned by the fabric service (ifupdown2)',
      'auto swp1', 'iface swp1', '    mtu 9216', '', 'auto swp2', 'iface swp2', '    mtu 9216', ''].join('\n'));
    const leaf1 = plans.find((p) => p.name === 'leaf1')!;
    expect(interfacesText.get('leaf1')).toBe([
      '# leaf1: netdevs owned by the fabric service (ifupdown2)',
      'auto swp51', 'iface swp51', '    mtu 9216',
      'auto vxlan10100', 'iface vxlan10100', '    vxlan-id 10100', `    vxlan-local-tunnelip ${leaf1.loopback}`, '    bridge-learning off', '    bridge-arp-nd-suppress on',
      '', 'auto br10100', 'iface br10100', '    bridge-ports vxlan10100 swp10', '    bridge-stp off', '',
    ].join('\n'));
    const cmds = applied.get('leaf1')!.map((c) => c.join(' '));
    expect(cmds).toContain(`ip link add vxlan10100 type vxlan id 10100 dstport 4789 nolearning local ${leaf1.loopback}`);
    expect(cmds).toContain('ip link set swp10 master br10100');
    expect(cmds).toContain('ip link set vxlan10100 master br10100');
    expect(cmds).toContain('bridge link set dev vxlan10100 neigh_suppress on');
    // ...and the kernel has it (issue 14 item 11: accepted and dropped before)
    const vx = JSON.parse(must(['ip', '-n', lab!.ns('leaf1'), '-d', '-j', 'link', 'show', 'vxlan10100'])) as { linkinfo?: { info_slave_data?: { neigh_suppress?: boolean } } }[];
    expect(vx[0].linkinfo?.info_slave_data?.neigh_suppress).toBe(true);
  });

  test('every rendered FRR config loads without a complaint', () => {
    const bad = [...loads].filter(([, r]) => !r.ok).map(([n, r]) => `${n}: ${r.errors.join(' | ')}`);
    expect(bad).toEqual([]);
    expect(loads.size).toBe(3);
  });

  test('EVPN: both VTEPs see each other (type-3), then both servers (type-2); server1 pings server2', async () => {
    const [leaf1, leaf2] = ['leaf1', 'leaf2'].map((n) => plans.find((p) => p.name === n)!);
    const imet = (dev: string) => lab!.vtysh(dev, 'show bgp l2vpn evpn route type multicast');
    const t3 = await pollUntil(() => [imet('leaf1'), imet('leaf2')],
      ([a, b]) => a.includes(`[3]:[0]:[32]:[${leaf2.loopback}]`) && b.includes(`[3]:[0]:[32]:[${leaf1.loopback}]`),
      { timeoutMs: 60000, intervalMs: 500 });
    expect(t3.ok).toBe(true);
    // zebra knows the remote VTEP of the VNI (flood list from the IMET route)
    const vni = lab!.vtyshJson<Record<string, unknown>>('leaf1', 'show evpn vni 10100 json');
    expect({ vtep: vni.vtepIp, vxlan: vni.vxlanInterface, bridge: vni.sviInterface }).toEqual({ vtep: leaf1.loopback, vxlan: 'vxlan10100', bridge: 'br10100' });
    // FRR 8.4's JSON names the list of remote VTEPs `numRemoteVteps`
    expect(vni.numRemoteVteps).toEqual([leaf2.loopback]);

    const s1 = serverNs[0];
    // bounded: at most 30 single pings (1 s each) while ARP and MACs settle
    const first = await pollUntil(() => run(['ip', 'netns', 'exec', s1, 'ping', '-c', '1', '-W', '1', '10.10.0.12'], 5000).status,
      (st) => st === 0, { timeoutMs: 30000, intervalMs: 200 });
    expect(first.ok).toBe(true);
    const five = run(['ip', 'netns', 'exec', s1, 'ping', '-c', '5', '-i', '0.2', '-W', '1', '10.10.0.12'], 15000);
    expect(five.out).toMatch(/5 packets transmitted, 5 received, 0% packet loss/);

    // Full-size frames (1500-byte IP, DF) cross VXLAN whole: 1550 bytes on the fabric ports, which
    // the rendered MTU carries (the lab's veths come at 1500). Linux would fragment the outer
    // packet where a switch drops it, so "no fragment made on leaf1" is the check.
    const mtu = JSON.parse(must(['ip', '-n', lab!.ns('leaf1'), '-j', 'link', 'show', 'swp51'])) as { mtu: number }[];
    expect(mtu[0].mtu).toBe(9216);
    const fragCreates = (): number => {
      const ip = must(['ip', 'netns', 'exec', lab!.ns('leaf1'), 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Ip:'));
      return Number(ip[1].split(/\s+/)[ip[0].split(/\s+/).indexOf('FragCreates')]);
    };
    const before = fragCreates();
    const big = run(['ip', 'netns', 'exec', s1, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '1472', '10.10.0.12'], 15000);
    expect(big.out).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    expect(fragCreates()).toBe(before);

    const macip = (dev: string) => lab!.vtysh(dev, 'show bgp l2vpn evpn route type macip');
    const t2 = await pollUntil(() => [macip('leaf1'), macip('leaf2')],
      ([a, b]) => [a, b].every((t) => t.includes('[2]:[0]:[48]:[52:54:00:aa:00:01]') && t.includes('[2]:[0]:[48]:[52:54:00:aa:00:02]')),
      { timeoutMs: 30000, intervalMs: 500 });
    expect(t2.ok).toBe(true);
    // leaf1 forwards bms2's MAC to leaf2's VTEP over vxlan10100 (EVPN-installed FDB entry)
    const fdb = must(['ip', 'netns', 'exec', lab!.ns('leaf1'), 'bridge', 'fdb', 'show', 'dev', 'vxlan10100']);
    expect(fdb).toMatch(new RegExp(`52:54:00:aa:00:02 dst ${leaf2.loopback.replace(/\./g, '\\.')}`));
  }, 150000);
});
