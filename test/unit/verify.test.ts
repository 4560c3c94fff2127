// Verification of a device's operational state against its plan (src/jobs/verify.ts): parsers of
// the device agent's <get> frr-state tree and of Junos RPC replies, and the pure check, including
// "a failed neighbour is a note, not this device's failure".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

const parseYaml = (text: string): any => load(text);
import { parseFabricFile } from '../../src/domain/parse';
import { allocate } from '../../src/intent/allocate';
import { compileFabric } from '../../src/intent/compile';
import type { DevicePlan } from '../../src/domain/types';
import { checkDevice, parseFrrState, parseJunosBfd, parseJunosBgpSummary, parseJunosRoutes, describeVerify } from '../../src/jobs/verify';
import { diffFiles } from '../../src/jobs/push';

const file = parseFabricFile(parseYaml(readFileSync(join(__dirname, '..', '..', 'examples', 'dc1-frr.yaml'), 'utf8')));
const plans = compileFabric(file, allocate(file));
const leaf1 = plans.find((p) => p.name === 'leaf1') as DevicePlan;
const loopbacks = Object.fromEntries(plans.map((p) => [p.name, p.loopback]));

// leaf1 of dc1 as the device agent reports it (docs/device-agent.md §5 shape): underlay to
// spine1 (10.254.0.0) and spine2 (10.254.0.8), EVPN to both spines' loopbacks, every loopback routed.
function frrSample(o: { spine2v4?: string; spine2evpn?: string; dropRoutes?: string[] } = {}): string {
  const nb = (addr: string, afi: string, st: string, vrf = 'default') =>
    `<neighbor><address>${addr}</address><vrf>${vrf}</vrf><afi>${afi}</afi><local-as>64603</local-as><remote-as>64601</remote-as><state>${st}</state><prefixes-received>3</prefixes-received></neighbor>`;
  const routes = ['10.255.0.1', '10.255.0.2', '10.255.0.3', '10.255.0.4', '10.255.0.5', '10.255.0.6']
    .filter((a) => !(o.dropRoutes ?? []).includes(a))
    .map((a) => `<route><prefix>${a}/32</prefix><protocol>${a === '10.255.0.3' ? 'connected' : 'bgp'}</protocol><nexthop><address>10.254.0.0</address><interface>swp51</interface></nexthop></route>`).join('');
  return `<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"><interface><name>swp51</name><oper-status>up</oper-status></interface></interfaces>` +
    `<frr-state xmlns="urn:fabric:frr"><bgp>${nb('10.254.0.0', 'ipv4Unicast', 'Established')}${nb('10.254.0.8', 'ipv4Unicast', o.spine2v4 ?? 'Established')}` +
    `${nb('10.255.0.1', 'l2VpnEvpn', 'Established')}${nb('10.255.0.2', 'l2VpnEvpn', o.spine2evpn ?? 'Established')}${nb('10.9.9.9', 'ipv4Unicast', 'Active', 'red')}</bgp>` +
    `<routes>${routes}</routes><lldp/><phase>configured</phase></frr-state>`;
}

describe('parseFrrState', () => {
  test('reads BGP sessions of the default VRF per address family and the selected routes', () => {
    const s = parseFrrState(frrSample({ spine2v4: 'Active' }));
    expect(s.bgp).toEqual([
      { peer: '10.254.0.0', afi: 'ipv4', state: 'Established' },
      { peer: '10.254.0.8', afi: 'ipv4', state: 'Active' },
      { peer: '10.255.0.1', afi: 'evpn', state: 'Established' },
      { peer: '10.255.0.2', afi: 'evpn', state: 'Established' },
    ]);
    expect(s.routes).toHaveLength(6);
    expect(s.bfd).toBeUndefined();
  });
  test('no frr-state tree: nothing up', () => {
    expect(parseFrrState('<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces"/>')).toEqual({ bgp: [], routes: [] });
  });
});

describe('checkDevice', () => {
  test('every session Established and every loopback routed: ok, BFD unreported is a note', () => {
    const r = checkDevice({ plan: leaf1, state: parseFrrState(frrSample()), loopbacks });
    expect(r).toEqual({ ok: true, failures: [], notes: ['BFD state not reported by this device: BFD not checked'], checked: 2 + 5 + 2, blame: [], up: 4 });
  });

  test('a session down and a loopback missing are named', () => {
    const r = checkDevice({ plan: leaf1, state: parseFrrState(frrSample({ spine2v4: 'Active', spine2evpn: 'Connect', dropRoutes: ['10.255.0.6'] })), loopbacks });
    expect(r.ok).toBe(false);
    expect(r.failures).toEqual([
      'BGP 10.254.0.8 (spine2 on swp52) is Active, not Established',
      "no route to leaf4's loopback 10.255.0.6/32",
      'EVPN 10.255.0.2 (spine2) is Connect, not Established',
    ]);
    expect(describeVerify(r)).toMatch(/^3 of 9 checks failed: BGP 10\.254\.0\.8/);
    expect(r.blame).toEqual(['leaf4', 'spine2']);
    expect(r.up).toBe(2);
  });

  test('a neighbour whose own push failed is a note, not a failure; its loopback is not expected', () => {
    const r = checkDevice({
      plan: leaf1, loopbacks, failedPeers: ['spine2'],
      state: parseFrrState(frrSample({ spine2v4: 'Active', spine2evpn: 'Active', dropRoutes: ['10.255.0.2'] })),
    });
    expect(r.ok).toBe(true);
    expect(r.failures).toEqual([]);
    expect(r.notes).toEqual([
      'BFD state not reported by this device: BFD not checked',
      'peer spine2 not configured (its push failed): BGP 10.254.0.8 not checked',
      'peer spine2 not configured (its push failed): loopback 10.255.0.2 not checked',
      'peer spine2 not configured (its push failed): EVPN 10.255.0.2 not checked',
    ]);
    expect(r.checked).toBe(1 + 4 + 1);
  });

  test('phases: underlay ignores EVPN, overlay ignores underlay and loopbacks', () => {
    const st = parseFrrState(frrSample({ spine2evpn: 'Idle' }));
    expect(checkDevice({ plan: leaf1, state: st, loopbacks, phase: 'underlay' }).ok).toBe(true);
    const o = checkDevice({ plan: leaf1, state: st, loopbacks, phase: 'overlay' });
    expect(o).toMatchObject({ ok: false, failures: ['EVPN 10.255.0.2 (spine2) is Idle, not Established'], checked: 2 });
  });

  test('a session the device does not know at all is "missing"', () => {
    const r = checkDevice({ plan: leaf1, state: { bgp: [], routes: [] }, loopbacks, phase: 'underlay' });
    expect(r.failures[0]).toBe('BGP 10.254.0.0 (spine1 on swp51) is missing, not Established');
    expect(r.failures).toHaveLength(2 + 5);
  });
});

// The agent's <bfd> tree (docs/device-agent.md §5, from FRR's `show bfd peers json`): leaf1's two
// single-hop sessions to the spines, plus one in another VRF that verify must ignore.
function withBfd(spine2: string, o: { spine2v4?: string } = {}): string {
  const peer = (addr: string, iface: string, st: string, vrf = 'default') =>
    `<peer><address>${addr}</address><vrf>${vrf}</vrf><interface>${iface}</interface><local-address>10.254.0.1</local-address><multihop>false</multihop><status>${st}</status><uptime>12</uptime></peer>`;
  return frrSample(o).replace('<lldp/>', `<bfd>${peer('10.254.0.0', 'swp51', 'up')}${peer('10.254.0.8', 'swp52', spine2)}${peer('10.254.0.8', 'swp9', 'up', 'red')}</bfd><lldp/>`);
}

describe('BFD of an frr device (agent <bfd> tree)', () => {
  test('parsed per default-VRF peer with FRR\'s status', () => {
    expect(parseFrrState(withBfd('down')).bfd).toEqual([{ peer: '10.254.0.0', state: 'up' }, { peer: '10.254.0.8', state: 'down' }]);
  });
  test('both BFD peers up: ok, BFD checked (no note)', () => {
    const r = checkDevice({ plan: leaf1, state: parseFrrState(withBfd('up')), loopbacks });
    expect(r).toEqual({ ok: true, failures: [], notes: [], checked: 2 + 2 + 5 + 2, blame: [], up: 4 });
  });
  test('BFD down to spine2 while BGP is Established: a failure naming the peer', () => {
    const r = checkDevice({ plan: leaf1, state: parseFrrState(withBfd('down')), loopbacks });
    expect(r.ok).toBe(false);
    expect(r.failures).toEqual(['BFD 10.254.0.8 (spine2) is down, not up']);
    expect(r.blame).toEqual(['spine2']);
    expect(r.notes).toEqual([]);
  });
  test('a planned BFD peer the device does not list is "missing"', () => {
    const r = checkDevice({ plan: leaf1, state: parseFrrState(withBfd('up').replace(/<peer><address>10\.254\.0\.0<\/address>.*?<\/peer>/, '')), loopbacks, phase: 'underlay' });
    expect(r.failures).toEqual(['BFD 10.254.0.0 (spine1) is missing, not up']);
  });
});

// Junos replies as Junos sends them (namespaced, peer-address with the port, one bgp-rib per table).
const JUNOS_BGP = `<bgp-information xmlns="http://xml.juniper.net/junos/21.4R0/junos-routing">
<group-count>2</group-count>
<bgp-peer junos:style="terse" heading="Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped..." xmlns:junos="http://xml.juniper.net/junos/*/junos">
<peer-address>10.254.0.0</peer-address><peer-as>64601</peer-as><peer-state>Established</peer-state>
<bgp-rib><name>inet.0</name><active-prefix-count>5</active-prefix-count></bgp-rib></bgp-peer>
<bgp-peer><peer-address>10.254.0.8+179</peer-address><peer-as>64602</peer-as><peer-state>Active</peer-state></bgp-peer>
<bgp-peer><peer-address>10.255.0.1</peer-address><peer-as>64512</peer-as><peer-state>Established</peer-state>
<bgp-rib><name>bgp.evpn.0</name><active-prefix-count>0</active-prefix-count></bgp-rib><bgp-rib><name>default-switch.evpn.0</name></bgp-rib></bgp-peer>
</bgp-information>`;
const JUNOS_BFD = `<bfd-session-information xmlns="http://xml.juniper.net/junos/21.4R0/junos-routing">
<bfd-session><session-neighbor>10.254.0.0</session-neighbor><session-state>Up</session-state><session-interface>et-0/0/48.0</session-interface></bfd-session>
<bfd-session><session-neighbor>10.254.0.8</session-neighbor><session-state>Down</session-state></bfd-session>
</bfd-session-information>`;
const JUNOS_ROUTES = `<route-information xmlns="http://xml.juniper.net/junos/21.4R0/junos-routing">
<route-table><table-name>inet.0</table-name><destination-count>4</destination-count>
<rt junos:style="brief" xmlns:junos="http://xml.juniper.net/junos/*/junos"><rt-destination>10.255.0.1/32</rt-destination><rt-entry><protocol-name>BGP</protocol-name></rt-entry></rt>
<rt><rt-destination>10.255.0.2/32</rt-destination></rt></route-table>
<route-table><table-name>inet6.0</table-name><rt><rt-destination>::/0</rt-destination></rt></route-table>
</route-information>`;

describe('Junos readers', () => {
  test('bgp summary: port suffix dropped, one entry per known table, unknown state without table', () => {
    expect(parseJunosBgpSummary(JUNOS_BGP)).toEqual([
      { peer: '10.254.0.0', afi: 'ipv4', state: 'Established' },
      { peer: '10.254.0.8', state: 'Active' },
      { peer: '10.255.0.1', afi: 'evpn', state: 'Established' },
    ]);
  });
  test('bfd sessions and inet.0 routes', () => {
    expect(parseJunosBfd(JUNOS_BFD)).toEqual([{ peer: '10.254.0.0', state: 'Up' }, { peer: '10.254.0.8', state: 'Down' }]);
    expect(parseJunosRoutes(JUNOS_ROUTES)).toEqual(['10.255.0.1/32', '10.255.0.2/32']);
  });
  test('a Junos device with BFD down to spine2 fails on BFD and BGP, not on notes', () => {
    const state = { bgp: parseJunosBgpSummary(JUNOS_BGP), bfd: parseJunosBfd(JUNOS_BFD), routes: parseJunosRoutes(JUNOS_ROUTES) };
    const r = checkDevice({ plan: leaf1, state, loopbacks: { spine1: '10.255.0.1', spine2: '10.255.0.2', leaf1: '10.255.0.3' }, phase: 'underlay' });
    expect(r.failures).toEqual([
      'BGP 10.254.0.8 (spine2 on swp52) is Active, not Established',
      'BFD 10.254.0.8 (spine2) is Down, not up',
    ]);
    expect(r.notes).toEqual([]);
    expect(r.checked).toBe(4 + 2);
  });
});

describe('diffFiles', () => {
  test('unified diff running -> intended; equal files give an empty string', () => {
    expect(diffFiles({ 'a.frr.conf': 'x\n' }, { 'a.frr.conf': 'x\n' })).toBe('');
    const d = diffFiles({ 'a.frr.conf': 'hostname a\n' }, { 'a.frr.conf': 'hostname a\nrouter bgp 1\n', 'a.interfaces': 'auto br1\n' });
    expect(d).toContain('--- running/a.frr.conf');
    expect(d).toContain('+++ intended/a.frr.conf');
    expect(d).toContain('+router bgp 1');
    expect(d).toContain('+auto br1');
  });
});
