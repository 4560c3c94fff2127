// Issue 14 on the vm twin (the host kernel has no bonds): the rendered FRR configs of a 2-spine
// 3-leaf fabric with one dual-homed server (ESI-LAG on leaf1+leaf2) and one single-homed server
// on leaf3, applied with the device agent's own parser and reconcile planner and `vtysh -f`.
// Proves: the server's bond has one LACP partner (the segment's es-sys-mac) with both links in
// one aggregator (item 9); full-size frames cross VXLAN without a fragment over cables made at
// 1500 (item 10). Not here yet: the uplink-loss failover (item 8): on 2026-12-07 the guest showed
// no protodown on the ES bond or its member after both uplinks went down (0 of 150 probes lost,
// so the fault was not shown to have hit the traffic); see docs/vendor-rules.md.
// One VM for the file; like test/lab/vm.test.ts it runs under CI=true or FABRIC_VM_TESTS=1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf } from '../helpers/env';
import { validateTopology, type Topology } from '../../src/lab/topology';
import { LabPaths, readRecord } from '../../src/lab/state';
import { vmBackend, ensureImage, type VmRecord } from '../../src/lab/vm';
import { procStartOf } from '../../src/lab/vm/qemu';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { EMPTY_NETDEV_STATE, parseInterfaces, planReconcile } from '../../src/lab/agent/interfaces';

const wanted = process.env.CI === 'true' || process.env.FABRIC_VM_TESTS === '1';
if (!wanted) console.warn('skipping the vm ESI-LAG tests: set FABRIC_VM_TESTS=1 (always on under CI=true)');
const d = wanted ? describeIf({ root: true, commands: ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4', 'ip'] }) : describe.skip;

const LAB = `ve${process.pid % 100000}`.slice(0, 8);
const LINKS: [string, string][] = [
  ['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine1:swp3', 'leaf3:swp51'],
  ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52'], ['spine2:swp3', 'leaf3:swp52'],
];
const DEVICES = ['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3'];
const BMS2 = '10.10.0.12';

// BFD off: under software emulation its timers would flap sessions; the items proven here do not need it.
const FABRIC = `
fabric:
  name: vmesi
  credentials: {username: admin, password: admin123}
  settings: {bfd: {intervalMs: 0}}
  namespaces:
    management: [{cidr: 10.0.0.0/24, gateway: 10.0.0.1}]
    loopback: [10.255.0.0/24]
    fabric: [10.254.0.0/20]
    asn: [{min: 64601, max: 64700}]
    overlayAsn: 64512
devices:
  - {name: spine1, profile: frr-switch, physicalRole: spine, roles: [Route-Reflector]}
  - {name: spine2, profile: frr-switch, physicalRole: spine, roles: [Route-Reflector]}
  - {name: leaf1, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf2, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf3, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
links:
${LINKS.map(([a, b]) => `  - [${a}, ${b}]`).join('\n')}
virtualNetworks:
  - {name: web, vni: 10100, subnet: 10.10.0.0/24}
servers:
  - {name: bms1, nics: [{device: leaf1, port: swp10}, {device: leaf2, port: swp10}]}
  - {name: bms2, nics: [{device: leaf3, port: swp10}]}
vpgs:
  - {name: vpg1, server: bms1, ports: [leaf1:swp10, leaf2:swp10], bindings: [{network: web, untagged: true}]}
  - {name: vpg2, server: bms2, ports: [leaf3:swp10], bindings: [{network: web, untagged: true}]}
`;

function topology(): Topology {
  return validateTopology({
    name: LAB,
    devices: DEVICES.map((name, i) => ({ name, profile: 'frr-switch', serial: `VE${String(i + 1).padStart(4, '0')}` })),
    links: LINKS,
    servers: [
      { name: 'bms1', nics: ['leaf1:swp10', 'leaf2:swp10'], address: '10.10.0.11/24' },
      { name: 'bms2', nics: ['leaf3:swp10'], address: `${BMS2}/24` },
    ],
    management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
    credentials: { username: 'admin', password: 'admin123' },
    snmp: { community: 'fabric-ro' },
  }, 'vm-esi.test');
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** /proc/net/bonding/<bond>: the active aggregator's partner and, per slave, MII state and aggregator id. */
function parseBonding(text: string): { partnerMac?: string; ports?: number; slaves: { name: string; mii: string; aggregator?: string }[] } {
  const active = /Active Aggregator Info:\n((?:\t.*\n)*)/.exec(text)?.[1] ?? '';
  const slaves = [...text.matchAll(/^Slave Interface: (\S+)\n((?:.+\n)*)/gm)].map((m) => ({
    name: m[1], mii: /MII Status: (\S+)/.exec(m[2])?.[1] ?? '?', aggregator: /Aggregator ID: (\d+)/.exec(m[2])?.[1],
  }));
  return { partnerMac: /Partner Mac Address: (\S+)/.exec(active)?.[1], ports: Number(/Number of ports: (\d+)/.exec(active)?.[1] ?? NaN), slaves };
}

d('vm twin: ESI-LAG, full-size frames and (issue 14 items 9-10)', () => {
  jest.setTimeout(20 * 60_000);
  let root: string;
  let vm: VmRecord | undefined;
  let upError: Error | undefined;
  let plans: DevicePlan[] = [];
  const lines: string[] = [];
  const inVm = (node: string, argv: string[], timeoutMs = 90_000, input?: string) =>
    vmBackend.execCapture(LAB, node, argv, { root, timeoutMs, hostTimeoutMs: timeoutMs + 5000, ...(input !== undefined ? { input } : {}) });
  const sh = async (node: string, script: string, timeoutMs = 90_000, input?: string): Promise<string> => {
    const r = await inVm(node, ['sh', '-c', script], timeoutMs, input);
    if (r.code !== 0) throw new Error(`${node}: ${script.split('\n')[0]}...: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  /** Polls until `ok` holds or the bounded wait ends; returns the last value. */
  const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number, every = 2000): Promise<T> => {
    const end = Date.now() + ms;
    let v = await read();
    while (!ok(v) && Date.now() < end) { await sleep(every); v = await read(); }
    return v;
  };
  const bonding = async () => parseBonding(await sh('bms1', 'cat /proc/net/bonding/bond0'));
  const esSysMac = () => plans.find((p) => p.name === 'leaf1')!.vpgs[0].lacpSystemId!;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fv-vmesi-'));
    await ensureImage({ log: (l) => lines.push(l) });
    try {
      await vmBackend.up(topology(), { root, preconfigured: true, timeoutSeconds: 600, log: (l) => lines.push(l) });
      plans = planFabric(FABRIC).plans;
      // Netdevs first (the agent's order), then FRR, one guest command per device.
      for (const p of plans) {
        const files = renderDevice(p).files;
        const have = new Set((await sh(p.name, 'ls /sys/class/net')).split(/\s+/).filter(Boolean));
        const { commands } = planReconcile(parseInterfaces(files[`${p.name}.interfaces`]), EMPTY_NETDEV_STATE, have);
        await sh(p.name, ['set -e', ...commands.map((c) => c.map(q).join(' '))].join('\n'));
        await sh(p.name, `cat > /tmp/${LAB}.conf && vtysh -N ${LAB}-${p.name} -f /tmp/${LAB}.conf`, 120_000, files[`${p.name}.frr.conf`]);
      }
    } catch (e) {
      upError = e as Error;
    }
    vm = readRecord(new LabPaths(LAB, root))?.extra?.vm as VmRecord | undefined;
  }, 30 * 60_000);

  afterAll(async () => {
    try {
      await vmBackend.down(LAB, { root });
    } finally {
      if (vm && procStartOf(vm.pid) === vm.pidStart) process.kill(vm.pid, 'SIGKILL');
      const ns = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim();
      if (ns && (JSON.parse(ns) as { name: string }[]).some((n) => n.name === `${LAB}-ctl`)) execFileSync('ip', ['netns', 'del', `${LAB}-ctl`]);
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  test('the dual-homed server\'s bond has one LACP partner (the es-sys-mac) with both links in one aggregator', async () => {
    if (upError) throw new Error(`lab or config failed: ${upError.message}\n${lines.slice(-20).join('\n')}`);
    const b = await until(bonding, (x) => x.ports === 2, 120_000);
    expect(b.partnerMac).toBe(esSysMac());
    expect(b.ports).toBe(2);
    expect(b.slaves.map((s) => s.mii)).toEqual(['up', 'up']);
    expect(new Set(b.slaves.map((s) => s.aggregator)).size).toBe(1);
  });

  test('full-size frames cross VXLAN whole over cables made at 1500', async () => {
    expect(upError).toBeUndefined();
    // EVPN converged: the servers reach each other
    const first = await until(async () => (await inVm('bms1', ['ping', '-c', '2', '-W', '2', '-q', BMS2])).code, (c) => c === 0, 180_000, 3000);
    expect(first).toBe(0);
    for (const leaf of ['leaf1', 'leaf2', 'leaf3']) {
      const mtu = JSON.parse(await sh(leaf, 'ip -j link show swp51')) as { mtu: number }[];
      expect([leaf, mtu[0].mtu]).toEqual([leaf, 9216]);
    }
    // Linux fragments the outer packet where a switch would drop it: no fragment made is the check
    const frags = async () => {
      let n = 0;
      for (const leaf of ['leaf1', 'leaf2', 'leaf3']) {
        const ip = (await sh(leaf, 'cat /proc/net/snmp')).split('\n').filter((l) => l.startsWith('Ip:'));
        n += Number(ip[1].split(/\s+/)[ip[0].split(/\s+/).indexOf('FragCreates')]);
      }
      return n;
    };
    const before = await frags();
    const big = await inVm('bms1', ['ping', '-c', '3', '-i', '0.3', '-W', '2', '-M', 'do', '-s', '1472', BMS2]);
    expect(big.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    expect(await frags()).toBe(before);
  });
});
