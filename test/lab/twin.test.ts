// The digital twin on the netns backend, end to end with real FRR, lldpd, snmpd and the device
// agent: a 2-spine 2-leaf lab comes up preconfigured, LLDP over SNMP from the controller
// namespace matches the cabling, a config pushed over NETCONF brings BGP up, an unconfirmed
// commit rolls back, python3-ncclient talks to the agent, install-software reboots a device,
// and down leaves nothing behind (also after an agent was killed).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology, type Topology } from '../../src/lab/topology';
import { LabPaths, recordedPids } from '../../src/lab/state';
import { NetconfClient, MemoryHostKeyStore } from '../../src/netconf/client';
import { kernelFeatures } from '../../src/lab/kernel';
import { labName, tmpRoot, relay, snmpwalk, inNs, leftovers, namespaces, waitUntil, sh, within, type Relay } from './helpers';

jest.setTimeout(240_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'lldpcli', 'snmpd', 'snmpwalk', 'dhclient', '/usr/bin/python3'] });

const LAB = labName();
const ROOT = tmpRoot();

const topo: Topology = validateTopology({
  name: LAB,
  devices: [
    { name: 'spine1', profile: 'frr-switch', serial: 'SIM0001' },
    { name: 'spine2', profile: 'frr-switch', serial: 'SIM0002' },
    { name: 'leaf1', profile: 'frr-switch', serial: 'SIM0101' },
    { name: 'leaf2', profile: 'frr-switch', serial: 'SIM0102' },
  ],
  links: [['spine1:swp1', 'leaf1:swp51'], ['spine1:swp2', 'leaf2:swp51'], ['spine2:swp1', 'leaf1:swp52'], ['spine2:swp2', 'leaf2:swp52']],
  servers: [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }],
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: 'admin123' },
  snmp: { community: 'fabric-ro', v3: { user: 'fabric', authKey: 'authpass123', privKey: 'privpass123' } },
});

const IP = { spine1: '10.0.0.11', spine2: '10.0.0.12', leaf1: '10.0.0.13', leaf2: '10.0.0.14' } as const;

function frrConf(o: { asn: number; rid: string; port: string; addr: string; peer: string; peerAs: number; extra?: string[] }): string {
  return [
    `interface ${o.port}`, ` ip address ${o.addr}`, 'exit',
    'interface lo', ` ip address ${o.rid}/32`, 'exit',
    `router bgp ${o.asn}`, ` bgp router-id ${o.rid}`, ' no bgp ebgp-requires-policy',
    ` neighbor ${o.peer} remote-as ${o.peerAs}`, ...(o.extra ?? []),
    ' address-family ipv4 unicast', `  network ${o.rid}/32`, ' exit-address-family', 'exit', '',
  ].join('\n');
}

const SPINE1 = frrConf({ asn: 65001, rid: '10.255.0.1', port: 'swp1', addr: '10.254.0.0/31', peer: '10.254.0.1', peerAs: 65101 });
const LEAF1 = frrConf({ asn: 65101, rid: '10.255.0.11', port: 'swp51', addr: '10.254.0.1/31', peer: '10.254.0.0', peerAs: 65001 });

function envelope(frr: string, interfaces = ''): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<frr xmlns="urn:fabric:frr"><frr-conf>${esc(frr)}</frr-conf><interfaces>${esc(interfaces)}</interfaces></frr>`;
}

async function vtyshRun(node: string): Promise<string> {
  const r = await sh(['vtysh', '-N', `${LAB}-${node}`, '-c', 'show running-config']);
  return r.stdout;
}

async function bgpState(node: string, peer: string): Promise<string | undefined> {
  const r = await sh(['vtysh', '-N', `${LAB}-${node}`, '-c', 'show bgp summary json']);
  try {
    const j = JSON.parse(r.stdout) as { ipv4Unicast?: { peers?: Record<string, { state?: string }> } };
    return j.ipv4Unicast?.peers?.[peer]?.state;
  } catch {
    return undefined;
  }
}

d('twin (netns backend)', () => {
  const relays: Relay[] = [];
  const clients: NetconfClient[] = [];
  // host keys pinned per device on first use: a device must keep its key across a reboot
  const hostKeys = new MemoryHostKeyStore();
  let allPids: number[] = [];
  let upSeconds = 0;

  async function nc(node: keyof typeof IP): Promise<NetconfClient> {
    const r = await relay(LAB, IP[node], 830);
    relays.push(r);
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: r.port, deviceId: node, username: 'admin', password: 'admin123', connectTimeoutMs: 20_000, hostKeyStore: hostKeys });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    const r = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 120 });
    upSeconds = r.seconds;
    expect(r.managementIps).toEqual(IP);
  });

  afterAll(async () => {
    for (const c of clients) await within(c.close().catch(() => undefined), 3000);
    for (const r of relays) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    const left = (await namespaces()).filter((n) => n.startsWith(`${LAB}-`));
    expect(left).toEqual([]);
    rmSync(ROOT, { recursive: true, force: true });
  });

  test('up: namespaces, cabling, management bridge, servers, all devices bootstrapped', async () => {
    expect(upSeconds).toBeGreaterThan(0);
    const ns = (await namespaces()).filter((n) => n.startsWith(`${LAB}-`)).sort();
    expect(ns).toEqual([`${LAB}-bms1`, `${LAB}-ctl`, `${LAB}-leaf1`, `${LAB}-leaf2`, `${LAB}-spine1`, `${LAB}-spine2`]);
    const links = JSON.parse((await inNs(`${LAB}-leaf1`, ['ip', '-j', 'link', 'show'])).stdout) as { ifname: string; mtu: number }[];
    expect(links.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo', 'swp10', 'swp51', 'swp52']);
    expect(links.find((l) => l.ifname === 'swp51')!.mtu).toBe(1500); // until a push sets the fabric MTU
    // no route out of the lab: the controller has only its connected subnet and the broadcast route
    const routes = (await inNs(`${LAB}-ctl`, ['ip', '-4', 'route', 'show', 'table', 'all'])).stdout;
    expect(routes).not.toMatch(/^default/m);
    expect(routes).toMatch(/255\.255\.255\.255 dev mgmt0/);
    expect((await inNs(`${LAB}-spine1`, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()).toBe('1');
    expect((await inNs(`${LAB}-bms1`, ['ip', '-4', '-o', 'addr', 'show', 'eth1'])).stdout).toMatch(/10\.10\.0\.11\/24/);
    const st = await netnsBackend.status(LAB, { root: ROOT });
    expect(st.running).toBe(true);
    expect(st.nodes.filter((n) => n.kind === 'device').map((n) => [n.name, n.state, n.managementIp])).toEqual([
      ['spine1', 'bootstrapped', IP.spine1], ['spine2', 'bootstrapped', IP.spine2], ['leaf1', 'bootstrapped', IP.leaf1], ['leaf2', 'bootstrapped', IP.leaf2],
    ]);
    // every device: agent, zebra, bgpd, bfdd, snmpd, lldpd recorded and alive
    for (const n of st.nodes.filter((x) => x.kind === 'device')) {
      expect(n.processes!.map((p) => p.what).sort()).toEqual(['agent', 'bfdd', 'bgpd', 'lldpd', 'snmpd', 'zebra']);
    }
  });

  test('SNMP from the controller namespace: system group with model and serial, IF-MIB, LLDP-MIB matching the cabling', async () => {
    const sys = await snmpwalk(LAB, IP.leaf1, '1.3.6.1.2.1.1');
    expect(sys.get('.1.3.6.1.2.1.1.1.0')).toBe('FRR-switch frr-switch serial SIM0101 version 8.4.4');
    expect(sys.get('.1.3.6.1.2.1.1.2.0')).toBe('.1.3.6.1.4.1.8072.3.2.10');
    expect(sys.get('.1.3.6.1.2.1.1.5.0')).toBe('leaf1');
    const v3 = await snmpwalk(LAB, IP.spine2, '1.3.6.1.2.1.1.5', ['-v3', '-l', 'authPriv', '-u', 'fabric', '-a', 'SHA', '-A', 'authpass123', '-x', 'AES', '-X', 'privpass123']);
    expect([...v3.values()]).toEqual(['spine2']);
    const ifNames = [...(await snmpwalk(LAB, IP.leaf1, '1.3.6.1.2.1.31.1.1.1.1')).values()].sort();
    expect(ifNames).toEqual(['eth0', 'lo', 'swp10', 'swp51', 'swp52']);

    const expected = new Set<string>();
    for (const l of topo.links) {
      expected.add(`${l.a.node}:${l.a.port}>${l.b.node}:${l.b.port}`);
      expected.add(`${l.b.node}:${l.b.port}>${l.a.node}:${l.a.port}`);
    }
    const seen = await waitUntil('LLDP neighbors over SNMP', async () => {
      const got = new Set<string>();
      for (const dev of Object.keys(IP) as (keyof typeof IP)[]) {
        const locPort = await snmpwalk(LAB, IP[dev], '1.0.8802.1.1.2.1.3.7.1.3'); // lldpLocPortId
        const remSys = await snmpwalk(LAB, IP[dev], '1.0.8802.1.1.2.1.4.1.1.9'); // lldpRemSysName
        const remPort = await snmpwalk(LAB, IP[dev], '1.0.8802.1.1.2.1.4.1.1.7'); // lldpRemPortId
        for (const [oid, sysName] of remSys) {
          const idx = oid.slice('.1.0.8802.1.1.2.1.4.1.1.9.'.length); // timeMark.localPortNum.index
          const localNum = idx.split('.')[1];
          const local = locPort.get(`.1.0.8802.1.1.2.1.3.7.1.3.${localNum}`);
          got.add(`${dev}:${local}>${sysName}:${remPort.get(`.1.0.8802.1.1.2.1.4.1.1.7.${idx}`)}`);
        }
      }
      return got.size === expected.size ? got : undefined;
    }, 60_000, 1000);
    expect([...seen].sort()).toEqual([...expected].sort());
  });

  test('a config pushed through the agent brings BGP up between spine1 and leaf1; operational state shows it', async () => {
    for (const [node, conf] of [['spine1', SPINE1], ['leaf1', LEAF1]] as const) {
      const c = await nc(node);
      await c.lock('candidate');
      await c.editConfig({ target: 'candidate', config: envelope(conf) });
      await c.validate('candidate');
      await c.commit();
      await c.unlock('candidate');
      expect(await c.getConfig('running')).toContain('neighbor 10.254.0');
    }
    await waitUntil('BGP Established spine1<->leaf1', async () => (await bgpState('spine1', '10.254.0.1')) === 'Established', 60_000, 500);
    const c = clients[0];
    const state = await c.get('<frr-state xmlns="urn:fabric:frr"><bgp/></frr-state>');
    expect(state).toMatch(/<neighbor><address>10\.254\.0\.1<\/address><vrf>default<\/vrf><afi>ipv4Unicast<\/afi><local-as>65001<\/local-as><remote-as>65101<\/remote-as><state>Established<\/state>/);
    // leaf1's loopback arrived over BGP
    const routes = await waitUntil('leaf1 loopback over BGP', async () => {
      const r = await c.get('<frr-state xmlns="urn:fabric:frr"><routes/></frr-state>');
      return r.includes('<prefix>10.255.0.11/32</prefix><protocol>bgp</protocol>') ? r : undefined;
    }, 20_000, 250);
    expect(routes).toContain('<prefix>10.255.0.11/32</prefix><protocol>bgp</protocol><nexthop><address>10.254.0.1</address><interface>swp1</interface></nexthop>');
    const lldp = await c.get('<frr-state xmlns="urn:fabric:frr"><lldp/></frr-state>');
    expect(lldp).toContain('<local-port>swp1</local-port><remote-system-name>leaf1</remote-system-name><remote-port>swp51</remote-port>');
    const facts = await c.rpc('<get-facts xmlns="urn:fabric:device"/>');
    expect(facts.xml).toContain('<hostname>spine1</hostname><vendor>FRR</vendor><model>frr-switch</model><serial-number>SIM0001</serial-number><os-name>FRR</os-name><os-version>8.4.4</os-version>');
    const st = await netnsBackend.status(LAB, { root: ROOT });
    const sp = st.nodes.find((n) => n.name === 'spine1')!;
    expect(sp.state).toBe('configured');
    expect(sp.bgp).toEqual([{ peer: '10.254.0.1', remoteAs: 65101, state: 'Established', afi: 'ipv4Unicast', prefixesReceived: 1 }]);
  });

  test('commit confirmed without confirm rolls back FRR and the running datastore', async () => {
    const c = clients[1]; // leaf1
    const before = await c.getConfig('running');
    const changed = frrConf({ asn: 65101, rid: '10.255.0.11', port: 'swp51', addr: '10.254.0.1/31', peer: '10.254.0.0', peerAs: 65001, extra: [' neighbor 10.254.0.0 description probe-rollback', ' neighbor 10.254.0.0 shutdown'] });
    await c.editConfig({ target: 'candidate', config: envelope(changed) });
    await c.commit({ confirmed: true, confirmTimeout: 4 });
    // mid-flight: the change is live in FRR and the session is down
    expect(await vtyshRun('leaf1')).toContain('neighbor 10.254.0.0 shutdown');
    await waitUntil('session shut down', async () => (await bgpState('leaf1', '10.254.0.0')) === 'Idle (Admin)', 15_000, 200);
    // no confirm: after the timeout FRR has the old config, the datastore too, and BGP returns
    // the datastore reverts once the old config is back in FRR
    await waitUntil('rollback of the running datastore', async () => (await c.getConfig('running')) === before, 20_000, 250);
    expect(await vtyshRun('leaf1')).not.toContain('probe-rollback');
    expect(await vtyshRun('leaf1')).not.toContain('neighbor 10.254.0.0 shutdown');
    await waitUntil('BGP back after rollback', async () => (await bgpState('leaf1', '10.254.0.0')) === 'Established', 60_000, 500);
  });

  test('python3-ncclient (independent client): hello, get-config, edit-config, commit, rpc-error', async () => {
    const script = join(__dirname, 'ncclient_check.py');
    const r = await inNs(`${LAB}-ctl`, ['/usr/bin/python3', script, IP.leaf2, 'admin', 'admin123'], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`ncclient check failed: ${r.stderr}\n${r.stdout}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toEqual({
      base11: true,
      frrCapability: true,
      emptyRunning: true,
      committed: true,
      rpcError: { tag: 'invalid-value', messageHas: 'line 2' },
      unknownElement: 'unknown-element',
      discarded: true,
    });
    expect(await vtyshRun('leaf2')).toContain('router bgp 65102');
  });

  test('interfaces text: kernel netdevs reconciled, unchanged ones kept (same ifindex), missing kernel features refused', async () => {
    const c = await nc('leaf2');
    const links = async (): Promise<Map<string, { ifindex: number; mtu: number; master?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string } } }>> => {
      const arr = JSON.parse((await inNs(`${LAB}-leaf2`, ['ip', '-j', '-d', 'link', 'show'])).stdout) as { ifname: string; ifindex: number; mtu: number; master?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string } } }[];
      return new Map(arr.map((l) => [l.ifname, l]));
    };
    const ifs = (vni: number, mtu: number): string => `auto br100\niface br100\n    bridge-ports vni100\n    mtu ${mtu}\niface vni100\n    vxlan-id ${vni}\n    vxlan-local-tunnelip 10.255.0.12\n    bridge-learning off\n`;
    const push = async (interfaces: string): Promise<void> => {
      await c.editConfig({ target: 'candidate', config: `<frr xmlns="urn:fabric:frr"><interfaces>${interfaces}</interfaces></frr>` });
      await c.commit();
    };
    await push(ifs(100, 1500));
    const l1 = await links();
    expect(l1.get('br100')!.linkinfo!.info_kind).toBe('bridge');
    expect(l1.get('vni100')!.linkinfo!.info_kind).toBe('vxlan');
    expect(l1.get('vni100')!.linkinfo!.info_data).toMatchObject({ id: 100, local: '10.255.0.12' });
    expect(l1.get('vni100')!.master).toBe('br100');
    // the frr-conf pushed earlier (by ncclient) is untouched by an interfaces-only edit
    expect(await c.getConfig('running')).toContain('router bgp 65102');
    // mutable change: same netdevs (same ifindex), new MTU
    await push(ifs(100, 1400));
    const l2 = await links();
    expect(l2.get('br100')!.ifindex).toBe(l1.get('br100')!.ifindex);
    expect(l2.get('vni100')!.ifindex).toBe(l1.get('vni100')!.ifindex);
    expect(l2.get('br100')!.mtu).toBe(1400);
    // creation parameter change: only the VXLAN netdev is made again
    await push(ifs(200, 1400));
    const l3 = await links();
    expect(l3.get('br100')!.ifindex).toBe(l1.get('br100')!.ifindex);
    expect(l3.get('vni100')!.ifindex).not.toBe(l1.get('vni100')!.ifindex);
    expect(l3.get('vni100')!.linkinfo!.info_data!.id).toBe(200);
    expect(l3.get('vni100')!.master).toBe('br100');
    // a bond on a kernel without bonding: refused at commit, nothing changed
    if ((await kernelFeatures()).get('bond') === false) {
      await c.editConfig({ target: 'candidate', config: '<frr xmlns="urn:fabric:frr"><interfaces>iface bond1\n    bond-slaves swp52\n    bond-mode 802.3ad\n</interfaces></frr>' });
      await expect(c.commit()).rejects.toThrow('interfaces: this kernel lacks bonding; run the lab with --backend vm');
      await c.discardChanges();
      expect((await links()).has('bond1')).toBe(false);
    }
    // empty interfaces text: the netdevs go
    await push('');
    const l4 = await links();
    expect(l4.has('br100')).toBe(false);
    expect(l4.has('vni100')).toBe(false);
  });

  test('CLI: status and exec on the running lab; a non-root user is told clearly', async () => {
    const cli = join(__dirname, '..', '..', 'dist', 'src', 'lab', 'cli.js');
    const st = await sh([process.execPath, cli, 'status', LAB, '--dir', ROOT]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`^lab ${LAB} \\(netns\\) running`));
    expect(st.stdout).toMatch(/^spine1\s+device\s+configured\s+10\.0\.0\.11\s+8\.4\.4\s+1\/1 established$/m);
    const ex = await sh([process.execPath, cli, 'exec', LAB, 'leaf1', '--dir', ROOT, '--', 'ip', '-br', 'link', 'show', 'swp51']);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(/^swp51@\S+\s+UP/);
    const bad = await sh([process.execPath, cli, 'exec', LAB, 'nosuch', '--dir', ROOT, '--', 'true']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`lab: lab ${LAB}: no node "nosuch" (nodes: ctl, spine1, spine2, leaf1, leaf2, bms1)\n`);
    const nobody = await sh(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'down', LAB, '--dir', ROOT]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toBe('lab: the twin needs root (network namespaces, veths, daemons): run it as root, e.g. sudo npm run lab -- ...\n');
  });

  test('install-software: the device reboots (NETCONF away, daemons restarted, links flap) and reports the new version', async () => {
    const c = clients[0]; // spine1
    const pidsBefore = recordedPids(new LabPaths(LAB, ROOT).pidFile).filter((e) => e.node === 'spine1' && e.what === 'bgpd').map((e) => e.pid);
    const reply = await c.rpc('<install-software xmlns="urn:fabric:device"><version>8.5.0-twin</version><reboot-seconds>2</reboot-seconds></install-software>');
    expect(reply.xml).toContain('<previous-version>8.4.4</previous-version><version>8.5.0-twin</version><rebooting/>');
    // NETCONF goes away: the device ends our session
    const closedInTime = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    expect(closedInTime).toBe(true);
    expect((await netnsBackend.status(LAB, { root: ROOT })).nodes.find((n) => n.name === 'spine1')!.state).toBe('rebooting');
    // the ports went down with the box: leaf1 loses the session
    await waitUntil('leaf1 sees the flap', async () => (await bgpState('leaf1', '10.254.0.0')) !== 'Established', 20_000, 200);
    const c2 = await waitUntil('NETCONF back', async () => {
      const r = await relay(LAB, IP.spine1, 830);
      relays.push(r);
      // same pinned host key store: a new key after the reboot would fail here
      return NetconfClient.connect({ host: '127.0.0.1', port: r.port, deviceId: 'spine1', username: 'admin', password: 'admin123', connectTimeoutMs: 5000, hostKeyStore: hostKeys });
    }, 60_000, 1000);
    clients.push(c2);
    expect(await hostKeys.get('spine1')).toMatch(/^SHA256:/);
    const facts = await c2.rpc('<get-facts xmlns="urn:fabric:device"/>');
    expect(facts.xml).toContain('<os-version>8.5.0-twin</os-version>');
    const sys = await snmpwalk(LAB, IP.spine1, '1.3.6.1.2.1.1.1');
    expect([...sys.values()]).toEqual(['FRR-switch frr-switch serial SIM0001 version 8.5.0-twin']);
    // the config survived the reboot and BGP comes back on fresh daemons
    expect(await c2.getConfig('running')).toContain('neighbor 10.254.0.1 remote-as 65101');
    await waitUntil('BGP back after reboot', async () => (await bgpState('spine1', '10.254.0.1')) === 'Established', 60_000, 500);
    const pidsAfter = recordedPids(new LabPaths(LAB, ROOT).pidFile).filter((e) => e.node === 'spine1' && e.what === 'bgpd').map((e) => e.pid);
    expect(pidsAfter.length).toBe(pidsBefore.length + 1);
    expect(existsPid(pidsBefore[0])).toBe(false);
  });

  test('down after an agent crash leaves nothing behind (namespaces, FRR run dirs, run files, processes)', async () => {
    const p = new LabPaths(LAB, ROOT);
    allPids = recordedPids(p.pidFile).map((e) => e.pid);
    expect(allPids.length).toBeGreaterThanOrEqual(4 * 6);
    // crash leaf2's agent: its daemons stay behind, orphaned
    const agent = recordedPids(p.pidFile).find((e) => e.node === 'leaf2' && e.what === 'agent')!;
    process.kill(agent.pid, 'SIGKILL');
    await waitUntil('agent gone', async () => !existsPid(agent.pid), 5000, 50);
    const orphans = recordedPids(p.pidFile).filter((e) => e.node === 'leaf2' && e.what !== 'agent' && existsPid(e.pid));
    expect(orphans.map((e) => e.what).sort()).toEqual(['bfdd', 'bgpd', 'lldpd', 'snmpd', 'zebra']);
    for (const c of clients) await within(c.close().catch(() => undefined), 3000);
    clients.length = 0;
    for (const r of relays) await within(r.close().catch(() => undefined), 3000);
    relays.length = 0;
    await netnsBackend.down(LAB, { root: ROOT });
    expect(await leftovers(LAB, ROOT, allPids)).toEqual([]);
    // idempotent
    await netnsBackend.down(LAB, { root: ROOT });
    expect(await leftovers(LAB, ROOT, allPids)).toEqual([]);
    // the host key survives down (and so the next up keeps the device's SSH identity)
    expect(readFileSync(join(ROOT, LAB, 'nodes', 'spine1', 'ssh_host_ed25519_key'), 'utf8')).toContain('PRIVATE KEY');
  });
});

/** alive = /proc entry present and not a zombie */
function existsPid(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
