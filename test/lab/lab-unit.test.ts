// Pure parts of the twin: topology validation, management plan, ZTP lease/URL/bootstrap,
// FRR removal diff, interfaces reconcile plans.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunningDir, checkRunning } from '../../src/lab/running';
import { parseTopologyText, validateTopology, managementPlan, requiredKernelFeatures, deviceIdentity, TopologyError } from '../../src/lab/topology';
import { bootstrapUrl, parseLeaseEnv, parseOption43, urlAllowed, parseBootstrap, dhclientConf, BootstrapError } from '../../src/lab/ztp';
import { removalScript, parseFrrConf } from '../../src/lab/agent/frrconf';
import { parseInterfaces, planReconcile, featuresNeeded, EMPTY_NETDEV_STATE, InterfacesError } from '../../src/lab/agent/interfaces';

const BASE = `name: dc1
devices:
  - {name: spine1, profile: frr-switch, serial: SIM0001}
  - {name: leaf1,  profile: frr-switch, serial: SIM0101}
  - {name: leaf2,  profile: frr-switch, serial: SIM0102}
links:
  - [spine1:swp1, leaf1:swp51]
  - [spine1:swp2, leaf2:swp51]
servers:
  - {name: bms1, nics: [leaf1:swp10], address: 10.10.0.11/24}
  - {name: bms2, nics: [leaf1:swp11, leaf2:swp11], address: 10.10.0.12/24, vlan: 100}
management: {cidr: 10.0.0.0/24, gateway: 10.0.0.1}
credentials: {username: admin, password: admin123}
snmp: {community: fabric-ro}
`;

describe('topology', () => {
  test('parses the design example shape', () => {
    const t = parseTopologyText(BASE, 'dc1.yaml');
    expect(t.devices.map((d) => d.name)).toEqual(['spine1', 'leaf1', 'leaf2']);
    expect(t.links[1]).toEqual({ a: { node: 'spine1', port: 'swp2' }, b: { node: 'leaf2', port: 'swp51' } });
    expect(t.servers[1]).toEqual({ name: 'bms2', nics: [{ node: 'leaf1', port: 'swp11' }, { node: 'leaf2', port: 'swp11' }], address: '10.10.0.12/24', vlan: 100 });
    expect(requiredKernelFeatures(t).sort()).toEqual(['bond', 'bridge', 'vlan']);
    expect(managementPlan(t)).toEqual({ prefixLen: 24, gateway: '10.0.0.1', devices: { spine1: '10.0.0.11', leaf1: '10.0.0.12', leaf2: '10.0.0.13' } });
    expect(deviceIdentity(t.devices[0])).toEqual({ vendor: 'FRR', model: 'frr-switch', vendorClass: 'FRR-frr-switch-SIM0001' });
  });

  test.each([
    [BASE.replace('name: dc1', 'name: DC1'), 'dc1.yaml: name: lab names are 1-8 characters of [a-z0-9], got "DC1"'],
    [BASE.replace('name: dc1', 'name: toolongname'), 'dc1.yaml: name: lab names are 1-8 characters of [a-z0-9], got "toolongname"'],
    [BASE.replace('{name: leaf2,', '{name: ctl,').replace('leaf2:swp51', 'ctl:swp51').replace('leaf2:swp11', 'ctl:swp11'), 'dc1.yaml: devices[2].name: "ctl" is reserved for the controller namespace'],
    [BASE.replace('[spine1:swp2, leaf2:swp51]', '[spine1:swp1, leaf2:swp51]'), 'dc1.yaml: links[1]: port spine1:swp1 is already cabled at dc1.yaml: links[0]'],
    [BASE.replace('[spine1:swp2, leaf2:swp51]', '[spine1:swp2, leaf9:swp51]'), 'dc1.yaml: links[1]: "leaf9" is not a device or router of this topology'],
    [BASE.replace('[spine1:swp2, leaf2:swp51]', '[spine1:swp2, leaf2:averyveryverylongportname]'), 'dc1.yaml: links[1]: port "averyveryverylongportname" is not a valid Linux interface name (1-15 of [A-Za-z0-9_.-])'],
    [BASE.replace('[spine1:swp2, leaf2:swp51]', '[spine1:eth0, leaf2:swp51]'), 'dc1.yaml: links[1]: port "eth0" is reserved (management)'],
    [BASE.replace('serial: SIM0102', 'serial: SIM0101'), 'dc1.yaml: devices[2] (leaf2).serial: "SIM0101" is used twice'],
    [BASE.replace('profile: frr-switch, serial: SIM0001', 'profile: juniper-qfx5110-48s-4c, serial: SIM0001'), 'dc1.yaml: devices[0] (spine1).profile: "juniper-qfx5110-48s-4c" cannot run in the twin (supported: frr-switch)'],
    [BASE.replace('gateway: 10.0.0.1', 'gateway: 10.0.1.1'), 'dc1.yaml: management.gateway: "10.0.1.1" is not a host address of 10.0.0.0/24'],
    [BASE.replace('vlan: 100', 'vlan: 5000'), 'dc1.yaml: servers[1] (bms2).vlan: expected an integer 1-4094'],
    [BASE.replace('snmp: {community: fabric-ro}', 'snmp: {v3: {user: u, authKey: short, privKey: privpass123}}'), 'dc1.yaml: snmp.v3.authKey: at least 8 characters'],
    [BASE + 'extra: 1\n', 'dc1.yaml: unknown key "extra"'],
    ['name: [', 'dc1.yaml: not valid YAML: '],
  ])('refuses with one clear line (%#)', (text, msg) => {
    let err: unknown;
    try { parseTopologyText(text, 'dc1.yaml'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(TopologyError);
    const m = (err as Error).message;
    expect(m.split('\n')).toHaveLength(1);
    if (msg.endsWith(': ')) expect(m.startsWith(msg)).toBe(true);
    else expect(m).toBe(msg);
  });

  test('management subnet too small for the devices', () => {
    const devices = Array.from({ length: 10 }, (_, i) => ({ name: `d${i}`, profile: 'frr-switch', serial: `S${i}` }));
    expect(() => validateTopology({ name: 'x', devices, links: [], management: { cidr: '10.0.0.0/28', gateway: '10.0.0.1' } }))
      .toThrow('topology: management.cidr: 10.0.0.0/28 has no room for 10 devices from .11 upward');
  });
});

describe('ZTP (device side)', () => {
  const lease = (extra: Record<string, string>): Record<string, string> => ({
    new_ip_address: '10.0.0.50', new_subnet_mask: '255.255.255.0', new_dhcp_server_identifier: '10.0.0.1', ...extra,
  });

  test('option 67 full URL wins', () => {
    expect(bootstrapUrl(lease({ new_bootfile_name: 'http://10.0.0.1:8080/ztp/SIM0001', new_tftp_server_name: '10.0.0.9' }))).toBe('http://10.0.0.1:8080/ztp/SIM0001');
  });

  test('Juniper option 43: sub-option 1 file, 3 transfer mode, 5 port; server from 150', () => {
    // 01 len 'ztp/SIM1' ; 03 len 'http' ; 05 len '8080'
    const enc = (code: number, v: string): string[] => [code, v.length, ...Buffer.from(v)].map((b) => b.toString(16).padStart(2, '0'));
    const o43 = [...enc(1, 'ztp/SIM1'), ...enc(3, 'http'), ...enc(5, '8080')].join(':');
    expect(parseOption43(o43).get(1)).toBe('ztp/SIM1');
    expect(bootstrapUrl(lease({ new_vendor_encapsulated_options: o43, new_ztp_tftp_servers: '10.0.0.2' }))).toBe('http://10.0.0.2:8080/ztp/SIM1');
    // no 150/66: the DHCP server
    expect(bootstrapUrl(lease({ new_vendor_encapsulated_options: o43 }))).toBe('http://10.0.0.1:8080/ztp/SIM1');
    // transfer mode tftp is not ours
    const tftp = [...enc(1, 'x.conf'), ...enc(3, 'tftp')].join(':');
    expect(bootstrapUrl(lease({ new_vendor_encapsulated_options: tftp }))).toBeUndefined();
  });

  test('option 66 server + 67 file', () => {
    expect(bootstrapUrl(lease({ new_tftp_server_name: '10.0.0.3', new_bootfile_name: 'ztp/SIM2' }))).toBe('http://10.0.0.3/ztp/SIM2');
    expect(bootstrapUrl(lease({}))).toBeUndefined();
  });

  test('only the lease subnet or the DHCP server may serve the bootstrap', () => {
    expect(urlAllowed('http://10.0.0.1:8080/x', lease({}))).toBe(true);
    expect(urlAllowed('http://10.0.0.77/x', lease({}))).toBe(true);
    expect(urlAllowed('http://192.0.2.1/x', lease({}))).toBe(false);
    expect(urlAllowed('http://example.com/x', lease({}))).toBe(false);
  });

  test('lease env from the script', () => {
    expect(parseLeaseEnv("reason=BOUND\nnew_ip_address=10.0.0.5\nnew_domain_name='a b'\nbad line\n")).toEqual({ reason: 'BOUND', new_ip_address: '10.0.0.5', new_domain_name: 'a b' });
  });

  test('bootstrap document: defaults, and one-line refusals', () => {
    expect(parseBootstrap('{"credentials":{"username":"admin","password":"p"},"snmp":{"community":"ro"}}')).toEqual({
      credentials: { username: 'admin', password: 'p' }, netconf: { port: 830 }, snmp: { community: 'ro' }, lldp: true,
    });
    const bad: [string, string][] = [
      ['{"credentials":{"username":"admin","password":"p"},"snmp":{"community":"ro"},"ntp":1}', 'bootstrap: unknown key "ntp"'],
      ['{"credentials":{"username":"admin","password":"p"},"snmp":{}}', 'bootstrap: snmp: give a community or v3 settings'],
      ['{"credentials":{"username":"admin","password":"p"},"snmp":{"community":"ro"},"netconf":false}', 'bootstrap: netconf: false is refused (the service needs NETCONF)'],
      ['{"snmp":{"community":"ro"}}', 'bootstrap: credentials: expected {username, password}'],
      ['{"credentials":{"username":"admin","password":"p"},"snmp":{"v3":{"user":"u","authKey":"short","privKey":"privpass123"}}}', 'bootstrap: snmp.v3: keys need at least 8 characters'],
    ];
    for (const [t, m] of bad) expect(() => parseBootstrap(t)).toThrow(new BootstrapError(m));
  });

  test('dhclient.conf sends vendor class, client id and host name from the serial', () => {
    const c = dhclientConf('FRR-frr-switch-SIM0001', 'SIM0001');
    expect(c).toContain('send vendor-class-identifier "FRR-frr-switch-SIM0001";');
    expect(c).toContain('send dhcp-client-identifier 00:53:49:4d:30:30:30:31;');
    expect(c).toContain('send host-name "SIM0001";');
    expect(c).toMatch(/request .*vendor-encapsulated-options, tftp-server-name, bootfile-name, ztp-tftp-servers/);
  });
});

describe('FRR removal diff', () => {
  const OLD = `frr defaults datacenter
hostname leaf1
ip prefix-list LO seq 5 permit 10.255.0.0/24 le 32
interface swp51
 ip address 10.254.0.1/31
exit
interface swp52
 ip address 10.254.0.3/31
exit
router bgp 65101
 bgp router-id 10.255.0.11
 neighbor 10.254.0.0 remote-as 65001
 neighbor 10.254.0.0 bfd
 neighbor 10.254.0.2 remote-as 65002
 address-family ipv4 unicast
  network 10.255.0.11/32
  neighbor 10.254.0.2 activate
 exit-address-family
 address-family l2vpn evpn
  advertise-all-vni
 exit-address-family
exit
route-map RM permit 10
 match ip address prefix-list LO
exit
`;

  test('parses contexts and sub-contexts', () => {
    const t = parseFrrConf(OLD);
    expect(t.map((n) => n.line)).toEqual(['hostname leaf1', 'ip prefix-list LO seq 5 permit 10.255.0.0/24 le 32', 'interface swp51', 'interface swp52', 'router bgp 65101', 'route-map RM permit 10']);
    expect(t[4].children.map((c) => c.line)).toEqual([
      'bgp router-id 10.255.0.11', 'neighbor 10.254.0.0 remote-as 65001', 'neighbor 10.254.0.0 bfd', 'neighbor 10.254.0.2 remote-as 65002',
      'address-family ipv4 unicast', 'address-family l2vpn evpn',
    ]);
    expect(t[4].children[4].children.map((c) => c.line)).toEqual(['network 10.255.0.11/32', 'neighbor 10.254.0.2 activate']);
  });

  test('same config: nothing to remove', () => {
    expect(removalScript(OLD, OLD)).toBe('');
  });

  test('removes exactly what is gone, dependents first, interfaces line by line', () => {
    const NEW = OLD
      .replace(' neighbor 10.254.0.2 remote-as 65002\n', '')
      .replace('  neighbor 10.254.0.2 activate\n', '')
      .replace(' address-family l2vpn evpn\n  advertise-all-vni\n exit-address-family\n', '')
      .replace('interface swp52\n ip address 10.254.0.3/31\nexit\n', '')
      .replace('route-map RM permit 10\n match ip address prefix-list LO\nexit\n', '')
      .replace('ip prefix-list LO seq 5 permit 10.255.0.0/24 le 32\n', '');
    expect(removalScript(OLD, NEW)).toBe([
      'no route-map RM permit 10',
      'router bgp 65101',
      ' address-family l2vpn evpn',
      '  no advertise-all-vni',
      ' exit-address-family',
      ' address-family ipv4 unicast',
      '  no neighbor 10.254.0.2 activate',
      ' exit-address-family',
      ' no neighbor 10.254.0.2 remote-as 65002',
      'exit',
      'interface swp52',
      ' no ip address 10.254.0.3/31',
      'exit',
      'no ip prefix-list LO seq 5 permit 10.255.0.0/24 le 32',
      '',
    ].join('\n'));
  });

  test('a changed ASN removes the whole old router block; hostname is never negated', () => {
    const NEW = OLD.replace('router bgp 65101', 'router bgp 65199').replace('hostname leaf1', 'hostname leaf9');
    const s = removalScript(OLD, NEW);
    expect(s.split('\n')).toContain('no router bgp 65101');
    expect(s).not.toContain('hostname');
  });
});

describe('interfaces reconcile', () => {
  const V1 = `auto br100
iface br100
    bridge-ports vni100 swp10
    mtu 9216
iface vni100
    vxlan-id 100
    vxlan-local-tunnelip 10.255.0.11
    bridge-learning off
`;

  test('parse and features', () => {
    const f = parseInterfaces(V1);
    expect(f.map((x) => [x.name, x.kind, x.auto])).toEqual([['br100', 'bridge', true], ['vni100', 'vxlan', false]]);
    expect(featuresNeeded(f).sort()).toEqual(['bridge', 'vxlan']);
    expect(featuresNeeded(parseInterfaces('iface bond1\n bond-slaves swp1 swp2\n bond-mode 802.3ad\niface swp1.100\niface vrf1\n vrf-table auto\n')).sort())
      .toEqual(['bond', 'vlan', 'vrf']);
  });

  test('one-line errors name the line', () => {
    expect(() => parseInterfaces('iface br0\n bridge-portz swp1\n')).toThrow(new InterfacesError('interfaces line 2: unknown key "bridge-portz" in iface br0'));
    expect(() => parseInterfaces('mtu 9000\n')).toThrow(new InterfacesError('interfaces line 1: "mtu" outside an iface stanza'));
    expect(() => parseInterfaces('iface vni1\n vxlan-id 99999999\n')).toThrow(new InterfacesError('interfaces line 1 (iface vni1): vxlan-id must be 1-16777215'));
  });

  test('first apply creates; the same text again changes nothing; a changed VNI recreates only that netdev', () => {
    const p1 = planReconcile(parseInterfaces(V1), EMPTY_NETDEV_STATE, new Set(['lo', 'eth0', 'swp10']));
    expect(p1.commands.filter((c) => c[1] === 'link' && c[2] === 'add')).toEqual([
      ['ip', 'link', 'add', 'vni100', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'nolearning', 'local', '10.255.0.11'],
      ['ip', 'link', 'add', 'br100', 'type', 'bridge', 'stp_state', '0'],
    ]);
    expect(p1.commands).toContainEqual(['ip', 'link', 'set', 'swp10', 'master', 'br100']);
    const existing = new Set(['lo', 'eth0', 'swp10', 'br100', 'vni100']);
    const p2 = planReconcile(parseInterfaces(V1), p1.state, existing);
    expect(p2.commands.filter((c) => ['add', 'del', 'master', 'nomaster'].some((w) => c.includes(w)))).toEqual([]);
    const p3 = planReconcile(parseInterfaces(V1.replace('vxlan-id 100', 'vxlan-id 200')), p2.state, existing);
    expect(p3.commands.filter((c) => c.includes('add') || c.includes('del'))).toEqual([
      ['ip', 'link', 'del', 'vni100'],
      ['ip', 'link', 'add', 'vni100', 'type', 'vxlan', 'id', '200', 'dstport', '4789', 'nolearning', 'local', '10.255.0.11'],
    ]);
    // gone from the text: deleted, its port released
    const p4 = planReconcile([], p2.state, existing);
    expect(p4.commands).toEqual([
      ['ip', 'link', 'del', 'vni100'],
      ['ip', 'link', 'del', 'br100'],
      ['ip', 'link', 'set', 'swp10', 'nomaster'],
    ]);
  });

  test('VLAN-aware bridge: access ports, trunk VIDs from the bridge, bridge self VIDs', () => {
    const text = `iface br0
    bridge-ports vni10 bond1
    bridge-vlan-aware yes
    bridge-vids 10 20
iface vni10
    vxlan-id 10010
    bridge-access 10
iface bond1
    bond-slaves swp10
    bond-mode 802.3ad
`;
    const p = planReconcile(parseInterfaces(text), EMPTY_NETDEV_STATE, new Set(['swp10']));
    expect(p.commands.filter((c) => c[0] === 'bridge' && c[1] === 'vlan')).toEqual([
      ['bridge', 'vlan', 'add', 'dev', 'br0', 'vid', '10', 'self'],
      ['bridge', 'vlan', 'add', 'dev', 'br0', 'vid', '20', 'self'],
      ['bridge', 'vlan', 'add', 'dev', 'vni10', 'vid', '10', 'pvid', 'untagged'],
      ['bridge', 'vlan', 'add', 'dev', 'bond1', 'vid', '10'],
      ['bridge', 'vlan', 'add', 'dev', 'bond1', 'vid', '20'],
    ]);
    expect(p.commands).toContainEqual(['ip', 'link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1', 'stp_state', '0']);
    expect(p.commands).toContainEqual(['ip', 'link', 'add', 'bond1', 'type', 'bond', 'mode', '802.3ad', 'lacp_rate', 'slow']);
  });
});

describe('lab up --running DIR', () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'bf-running-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reads <device>.frr.conf and <device>.interfaces; a file naming no device is an error', () => {
    const t = parseTopologyText(BASE, 'dc1.yaml');
    fs.writeFileSync(`${dir}/leaf1.frr.conf`, 'router bgp 65101\nexit\n');
    fs.writeFileSync(`${dir}/leaf1.interfaces`, 'auto lo\n');
    fs.writeFileSync(`${dir}/README`, 'not a config');
    expect(readRunningDir(dir, t)).toEqual({ leaf1: { frrConf: 'router bgp 65101\nexit\n', interfaces: 'auto lo\n' } });
    fs.writeFileSync(`${dir}/leaf9.frr.conf`, '');
    expect(() => readRunningDir(dir, t)).toThrow(/leaf9\.frr\.conf names no device of lab dc1/);
    fs.rmSync(`${dir}/leaf9.frr.conf`);
    expect(() => readRunningDir(`${dir}/nope`, t)).toThrow(/not a directory/);
  });

  test('needs --preconfigured, known devices and no control characters', () => {
    const t = parseTopologyText(BASE, 'dc1.yaml');
    expect(checkRunning(t, { running: { leaf1: { frrConf: 'x\n' } } })).toMatch(/needs --preconfigured/);
    expect(checkRunning(t, { preconfigured: true, running: { leaf7: { frrConf: 'x\n' } } })).toMatch(/no device leaf7/);
    expect(checkRunning(t, { preconfigured: true, running: { leaf1: { frrConf: 'x\u0000\n' } } })).toMatch(/control characters/);
    expect(checkRunning(t, { preconfigured: true, running: { leaf1: { frrConf: 'router bgp 1\n' } } })).toBeUndefined();
  });
});
