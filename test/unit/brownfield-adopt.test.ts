// Brownfield adoption, pure parts: reading a running underlay (FRR text, Junos XML) and turning
// what devices run into allocations, with conflicts and values outside the namespaces named.
import { parseFrrUnderlay } from '../../src/platforms/frr/underlay';
import { junosBgpPeerStates, parseJunosUnderlay } from '../../src/platforms/junos/underlay';
import { adoptUnderlay, widenNamespaces } from '../../src/discovery/adopt';
import { plannedBgpAs, renumberings } from '../../src/jobs/renumber-guard';
import { resolveSettings } from '../../src/domain/parse';
import { bgpPeerRows } from '../../src/discovery/snmp';
import { compareBgpMib } from '../../src/discovery/bgp-mib';
import type { Namespaces } from '../../src/domain/types';
import type { RunningUnderlay } from '../../src/platforms/types';

const LEAF_CONF = `frr version 8.4
hostname leaf1
!
interface lo
 ip address 10.9.0.21/32
exit
!
interface swp1
 description to spine1
 ip address 10.9.100.7/31
exit
!
interface swp2
 ip address 10.9.100.9/31
exit
!
interface vlan10 vrf blue
 ip address 192.168.10.1/24
exit
!
router bgp 65201
 bgp router-id 10.9.0.21
 neighbor SPINES peer-group
 neighbor SPINES remote-as 65100
 neighbor 10.9.100.6 peer-group SPINES
 neighbor 10.9.100.8 remote-as 65101
 !
 address-family ipv4 unicast
  network 10.9.0.21/32
 exit-address-family
exit
!
router bgp 65201 vrf blue
 neighbor 192.168.10.2 remote-as 64999
exit
!
end
`;

describe('FRR running underlay', () => {
  test('loopback, ASN, router id, addressed ports and neighbours (peer groups followed, VRFs left out)', () => {
    const u = parseFrrUnderlay(LEAF_CONF);
    expect(u).toEqual({
      loopback: '10.9.0.21', asn: 65201, routerId: '10.9.0.21',
      interfaces: [{ name: 'swp1', address: '10.9.100.7/31' }, { name: 'swp2', address: '10.9.100.9/31' }],
      neighbors: [{ address: '10.9.100.6', remoteAs: 65100 }, { address: '10.9.100.8', remoteAs: 65101 }],
    });
  });
  test('addresses from the ifupdown2 interfaces file count too; an empty config has nothing', () => {
    const u = parseFrrUnderlay('router bgp 65001\n neighbor swp1 interface remote-as external\nexit\n', 'auto lo\niface lo\n    address 10.0.0.1/32\n\nauto swp1\niface swp1\n    address 10.1.0.0/31\n');
    expect(u.loopback).toBe('10.0.0.1');
    expect(u.interfaces).toEqual([{ name: 'swp1', address: '10.1.0.0/31' }]);
    expect(u.asn).toBe(65001);
    expect(parseFrrUnderlay('')).toEqual({ interfaces: [], neighbors: [] });
  });
});

const JUNOS_CONF = `<rpc-reply xmlns:junos="http://xml.juniper.net/junos/23.4R1/junos"><data><configuration>
  <interfaces>
    <interface><name>xe-0/0/0</name><unit><name>0</name><family><inet><address><name>172.16.1.1/31</name></address></inet></family></unit></interface>
    <interface><name>xe-0/0/1</name><unit><name>0</name><family><inet><address><name>172.16.1.3/31</name></address></inet></family></unit></interface>
    <interface><name>em0</name><unit><name>0</name><family><inet><address><name>192.168.0.5/24</name></address></inet></family></unit></interface>
    <interface><name>lo0</name><unit><name>0</name><family><inet><address><name>172.31.0.1/32</name></address></inet></family></unit></interface>
  </interfaces>
  <routing-options><router-id>172.31.0.1</router-id><autonomous-system><as-number>4200000001</as-number></autonomous-system></routing-options>
  <protocols><bgp>
    <group><name>underlay</name><type>external</type><peer-as>4200000100</peer-as>
      <neighbor><name>172.16.1.0</name></neighbor>
      <neighbor><name>172.16.1.2</name><peer-as>4200000101</peer-as></neighbor>
    </group>
    <group><name>overlay</name><type>internal</type><neighbor><name>172.31.0.9</name></neighbor></group>
  </bgp></protocols>
</configuration></data></rpc-reply>`;

describe('Junos running underlay (pure XML parsing)', () => {
  test('lo0.0, AS, router id, inet addresses by unit (management port left out), BGP neighbours with group or own peer-as', () => {
    expect(parseJunosUnderlay(JUNOS_CONF)).toEqual({
      loopback: '172.31.0.1', asn: 4200000001, routerId: '172.31.0.1',
      interfaces: [{ name: 'xe-0/0/0.0', address: '172.16.1.1/31' }, { name: 'xe-0/0/1.0', address: '172.16.1.3/31' }],
      neighbors: [
        { address: '172.16.1.0', remoteAs: 4200000100 },
        { address: '172.16.1.2', remoteAs: 4200000101 },
        { address: '172.31.0.9', remoteAs: 4200000001 },
      ],
    });
  });
  test('no <configuration>: nothing', () => {
    expect(parseJunosUnderlay('<rpc-reply><data/></rpc-reply>')).toEqual({ interfaces: [], neighbors: [] });
  });
  test('BGP summary: state and elapsed seconds per peer (port suffix dropped)', () => {
    const xml = `<rpc-reply xmlns:junos="http://xml.juniper.net/junos/23.4R1/junos"><bgp-information>
      <bgp-peer><peer-address>172.16.1.0+179</peer-address><peer-state>Established</peer-state><elapsed-time junos:seconds="4242">1:10:42</elapsed-time></bgp-peer>
      <bgp-peer><peer-address>172.16.1.2</peer-address><peer-state>Active</peer-state></bgp-peer>
    </bgp-information></rpc-reply>`;
    const m = junosBgpPeerStates(xml);
    expect(m.get('172.16.1.0')).toEqual({ state: 'Established', uptimeSeconds: 4242 });
    expect(m.get('172.16.1.2')).toEqual({ state: 'Active' });
  });
});

const NS: Namespaces = {
  management: [{ cidr: '192.168.0.0/24', gateway: '192.168.0.1' }],
  loopback: ['10.9.0.0/24'], fabric: ['10.9.100.0/24'], asn: [{ min: 65100, max: 65299 }], overlayAsn: 64512,
} as Namespaces;

function dev(name: string, lo: string | undefined, asn: number | undefined, ifs: [string, string][]): { name: string; underlay: RunningUnderlay } {
  return { name, underlay: { ...(lo ? { loopback: lo } : {}), ...(asn !== undefined ? { asn } : {}), interfaces: ifs.map(([n, a]) => ({ name: n, address: a })), neighbors: [] } };
}
const link = (a: string, pa: string, b: string, pb: string) => ({ a: { device: a, port: pa }, b: { device: b, port: pb } });

describe('adoption of running values', () => {
  test('running values become allocations; a link whose b end runs the lower address is to be stored swapped', () => {
    const r = adoptUnderlay({
      namespaces: NS,
      devices: [dev('spine1', '10.9.0.200', 65100, [['swp1', '10.9.100.6/31'], ['swp2', '10.9.100.11/31']]), dev('leaf1', '10.9.0.21', 65201, [['swp1', '10.9.100.7/31']]), dev('leaf2', '10.9.0.3', 65250, [['swp1', '10.9.100.10/31']])],
      links: [link('leaf1', 'swp1', 'spine1', 'swp1'), link('spine1', 'swp2', 'leaf2', 'swp1')],
    });
    expect(r.conflicts).toEqual([]);
    expect(r.outside).toEqual([]);
    expect(r.allocations).toEqual({
      loopbacks: { spine1: '10.9.0.200', leaf1: '10.9.0.21', leaf2: '10.9.0.3' },
      asns: { spine1: 65100, leaf1: 65201, leaf2: 65250 },
      links: { 'leaf1:swp1--spine1:swp1': '10.9.100.6/31', 'leaf2:swp1--spine1:swp2': '10.9.100.10/31' },
    });
    // leaf1 (a) runs .7, spine1 (b) .6; spine1:swp2 (a) runs .11, leaf2 (b) .10: both swapped
    expect(r.swap.sort()).toEqual(['leaf1:swp1--spine1:swp1', 'leaf2:swp1--spine1:swp2']);
  });

  test('conflicts name the devices: one loopback twice, one ASN twice, the overlay ASN, ends that are not one /31', () => {
    const r = adoptUnderlay({
      namespaces: NS,
      devices: [
        dev('spine1', '10.9.0.1', 65100, [['swp1', '10.9.100.0/31'], ['swp2', '10.9.100.4/30'], ['swp3', '10.9.100.20/31']]),
        dev('leaf1', '10.9.0.1', 65100, [['swp1', '10.9.100.3/31']]),
        dev('leaf2', '10.9.0.3', 64512, [['swp1', '10.9.100.5/30']]),
        dev('leaf3', '10.9.0.4', 65203, []),
      ],
      links: [link('spine1', 'swp1', 'leaf1', 'swp1'), link('spine1', 'swp2', 'leaf2', 'swp1'), link('spine1', 'swp3', 'leaf3', 'swp1')],
    });
    expect(r.conflicts).toEqual([
      'loopback 10.9.0.1 is run by both spine1 and leaf1',
      'ASN 65100 is run by both spine1 and leaf1 (the fabric gives each device its own underlay ASN)',
      "ASN 64512 of leaf2 is the fabric's overlayAsn",
      'link spine1--leaf1: spine1:swp1 (10.9.100.0/31) and leaf1:swp1 (10.9.100.3/31) are not one /31',
      'link spine1--leaf2: spine1:swp2 (10.9.100.4/30) and leaf2:swp1 (10.9.100.5/30) are not one /31',
      'link spine1--leaf3: spine1:swp3 (10.9.100.20/31) and leaf3:swp1 (no address) are not one /31',
    ]);
  });

  test('values outside the namespaces are listed (and kept as allocations); widenNamespaces takes them in', () => {
    const r = adoptUnderlay({
      namespaces: NS,
      devices: [dev('spine1', '172.31.0.1', 4200000001, [['swp1', '172.16.0.0/31']]), dev('leaf1', '10.9.0.9', 65209, [['swp1', '172.16.0.1/31']]), dev('leaf2', undefined, undefined, [])],
      links: [link('spine1', 'swp1', 'leaf1', 'swp1')],
    });
    expect(r.conflicts).toEqual([]);
    expect(r.outside).toEqual([
      'loopback 172.31.0.1 of spine1 is outside namespaces.loopback (10.9.0.0/24)',
      'ASN 4200000001 of spine1 is outside namespaces.asn (65100..65299)',
      'subnet 172.16.0.0/31 of link spine1--leaf1 is outside namespaces.fabric (10.9.100.0/24)',
    ]);
    expect(r.notes).toEqual(['leaf2: no loopback /32 running', 'leaf2: runs no BGP']);
    const w = widenNamespaces(NS, r.allocations);
    expect(w.loopback).toEqual(['10.9.0.0/24', '172.31.0.1/32']);
    expect(w.fabric).toEqual(['10.9.100.0/24', '172.16.0.0/31']);
    expect(w.asn).toEqual([{ min: 65100, max: 65299 }, { min: 4200000001, max: 4200000001 }]);
    expect(widenNamespaces(w, r.allocations)).toEqual(w);
  });

  test('a Junos port reported with its unit (xe-0/0/0.0) is the LLDP port xe-0/0/0', () => {
    const r = adoptUnderlay({ namespaces: NS, devices: [dev('spine1', '10.9.0.1', 65100, [['xe-0/0/0.0', '10.9.100.0/31']]), dev('leaf1', '10.9.0.2', 65201, [['swp1', '10.9.100.1/31']])], links: [link('spine1', 'xe-0/0/0', 'leaf1', 'swp1')] });
    expect(r.conflicts).toEqual([]);
    expect(r.allocations.links).toEqual({ 'leaf1:swp1--spine1:xe-0/0/0': '10.9.100.0/31' });
  });

  test('an unrouted link (no address on either end) adopts nothing', () => {
    const r = adoptUnderlay({ namespaces: NS, devices: [dev('leaf1', '10.9.0.1', 65201, []), dev('leaf2', '10.9.0.2', 65202, [])], links: [link('leaf1', 'swp9', 'leaf2', 'swp9')] });
    expect(r.conflicts).toEqual([]);
    expect(r.allocations.links).toEqual({});
  });
});

describe('renumber guard', () => {
  const plan = (over: Record<string, unknown> = {}) => ({
    name: 'leaf1', loopback: '10.9.0.21', routerId: '10.9.0.21', asn: 65201,
    interfaces: [{ name: 'swp1', address: '10.9.100.7/31' }, { name: 'swp10' }],
    overlay: { asn: 64512, ebgp: true }, ...over,
  }) as never;
  const running = (over: Partial<RunningUnderlay> = {}): RunningUnderlay => ({
    loopback: '10.9.0.21', asn: 65201, routerId: '10.9.0.21', interfaces: [{ name: 'swp1', address: '10.9.100.7/31' }, { name: 'eth9', address: '192.0.2.1/24' }], neighbors: [], ...over,
  });
  test('what runs and matches the plan: nothing; a port the fabric does not manage is not counted', () => {
    expect(renumberings(plan(), running())).toEqual([]);
    expect(renumberings(plan(), { interfaces: [], neighbors: [] })).toEqual([]);
  });
  test('each change of a running value is named', () => {
    expect(renumberings(plan(), running({ loopback: '10.9.0.99', asn: 65999, routerId: '10.9.0.99', interfaces: [{ name: 'swp1', address: '10.9.100.9/31' }, { name: 'swp10', address: '10.1.1.1/24' }] }))).toEqual([
      'loopback 10.9.0.99 -> 10.9.0.21', 'router bgp 65999 -> 65201', 'bgp router-id 10.9.0.99 -> 10.9.0.21 (resets every session)',
      'swp1 10.9.100.9/31 -> 10.9.100.7/31', 'swp10 10.1.1.1/24 -> no address',
    ]);
  });
  test('a greenfield overlay runs bgpd in the overlay AS: a device running its own ASN would be renumbered', () => {
    expect(plannedBgpAs(plan({ overlay: { asn: 64512 } }))).toBe(64512);
    expect(renumberings(plan({ overlay: { asn: 64512 } }), running())).toEqual(['router bgp 65201 -> 64512']);
  });
});

describe('settings.brownfield', () => {
  test('kept as given (true: the service renders the underlay; false: it leaves the running one alone)', () => {
    expect(resolveSettings({ brownfield: { manageUnderlay: true } }).brownfield).toEqual({ manageUnderlay: true });
    expect(resolveSettings({ brownfield: { manageUnderlay: false } }).brownfield).toEqual({ manageUnderlay: false });
    expect(() => resolveSettings({ brownfield: {} })).toThrow('manageUnderlay');
    expect(resolveSettings({}).brownfield).toBeUndefined();
  });
});

describe('BGP4-MIB against NETCONF', () => {
  const ip = (s: string) => Buffer.from(s.split('.').map(Number));
  // bgpPeerTable columns as the walk returns them: state (2), local (5) and remote (7) address, remote AS (9)
  const cols = new Map<string, unknown>([
    ['2.10.254.0.0', 6], ['5.10.254.0.0', ip('10.254.0.1')], ['7.10.254.0.0', ip('10.254.0.0')], ['9.10.254.0.0', 64601],
    ['2.10.254.0.2', 3], ['5.10.254.0.2', ip('0.0.0.0')], ['7.10.254.0.2', ip('0.0.0.0')], ['9.10.254.0.2', 64602],
  ]);
  test('bgpPeerTable rows: the peer from the index (the remote address is 0.0.0.0 until connected), state names', () => {
    expect(bgpPeerRows(cols)).toEqual([
      { peer: '10.254.0.0', state: 'Established', remoteAs: 64601, localAddress: '10.254.0.1' },
      { peer: '10.254.0.2', state: 'Active', remoteAs: 64602, localAddress: '0.0.0.0' },
    ]);
  });
  test('agreeing views: no anomaly; each disagreement is named (missing either side, remote AS, up or not)', () => {
    const mib = bgpPeerRows(cols);
    const u = (n: RunningUnderlay['neighbors']): RunningUnderlay => ({ interfaces: [], neighbors: n });
    expect(compareBgpMib('leaf1', u([{ address: '10.254.0.0', remoteAs: 64601, state: 'Established' }, { address: '10.254.0.2', remoteAs: 64602, state: 'Active' }]), mib)).toEqual([]);
    expect(compareBgpMib('leaf1', u([{ address: '10.254.0.0', remoteAs: 64609, state: 'Idle' }, { address: '10.254.0.4', remoteAs: 64603 }]), mib).map((a) => `${a.kind} ${a.message}`)).toEqual([
      'bgp-mib leaf1: neighbour 10.254.0.0: remote AS 64609 (NETCONF), 64601 (BGP4-MIB)',
      'bgp-mib leaf1: neighbour 10.254.0.0: Idle (NETCONF), Established (BGP4-MIB)',
      'bgp-mib leaf1: neighbour 10.254.0.4 is in the running config (NETCONF) but not in BGP4-MIB',
      'bgp-mib leaf1: BGP4-MIB reports neighbour 10.254.0.2 (AS 64602, Active) that the running config (NETCONF) does not have',
    ]);
  });
});
