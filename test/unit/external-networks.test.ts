// External networks (issue 16): every refusal with its one-line message and path, on mutated
// copies of test/golden/fabrics/dcgw-frr.yaml; what intent puts on the DC gateway; the twin
// topology's `routers:` entries.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { validateTopology } from '../../src/lab/topology';
import { base, problems, type Doc } from './services-cases';

const DCGW = readFileSync(path.resolve(__dirname, '../golden/fabrics/dcgw-frr.yaml'), 'utf8');
const ext = (d: Doc) => d.externalNetworks[0];

const REFUSALS: [string, (d: Doc) => void, string[]][] = [
  ['unknown logical router', (d) => { ext(d).logicalRouter = 't2'; }, [
    'externalNetworks[0].logicalRouter | externalNetworks[0] (inet).logicalRouter: unknown logical router "t2"',
  ]],
  ['gateway without the role', (d) => { ext(d).gateways[0].device = 'leaf2'; }, [
    'externalNetworks[0].gateways[0].device | externalNetworks[0] (inet).gateways[0].device: leaf2 has no DC-Gateway role (roles: ERB-UCAST-Gateway)',
  ]],
  ['port of a fabric link', (d) => { ext(d).gateways[0].port = 'swp51'; }, [
    'externalNetworks[0].gateways[0].port | externalNetworks[0] (inet).gateways[0].port: port gw1:swp51 is already used (a fabric link port, links[2])',
  ]],
  ['port used twice', (d) => { d.externalNetworks.push({ ...structuredClone(ext(d)), name: 'inet2', gateways: [{ device: 'gw1', port: 'swp1', address: '192.0.2.4/31', peer: '192.0.2.5' }] }); }, [
    'externalNetworks[1].gateways[0].port | externalNetworks[1] (inet2).gateways[0].port: port gw1:swp1 is already used (the gateway port of externalNetworks[0] (inet))',
  ]],
  ['invalid port', (d) => { ext(d).gateways[0].port = 'eth0'; }, [
    'externalNetworks[0].gateways[0].port | externalNetworks[0] (inet).gateways[0].port: "eth0" is not a valid port for gw1 (frr-switch: front-panel swpN (breakout swpNsM); Linux interface names, not eth*/lo/mgmt*)',
  ]],
  ['peer outside the subnet', (d) => { ext(d).gateways[0].peer = '192.0.2.9'; }, [
    "externalNetworks[0].gateways[0].peer | externalNetworks[0] (inet).gateways[0].peer: 192.0.2.9 is outside the gateway's subnet 192.0.2.0/31",
  ]],
  ['peer is us', (d) => { ext(d).gateways[0].peer = '192.0.2.0'; }, [
    "externalNetworks[0].gateways[0].peer | externalNetworks[0] (inet).gateways[0].peer: 192.0.2.0 is the gateway's own address",
  ]],
  ['link in the fabric pool', (d) => { ext(d).gateways[0].address = '10.254.9.0/31'; ext(d).gateways[0].peer = '10.254.9.1'; }, [
    'externalNetworks[0].gateways[0].address | externalNetworks[0] (inet).gateways[0].address: 10.254.9.0/31 overlaps fabric.namespaces.fabric[0] 10.254.0.0/20',
  ]],
  ['two gateways on one subnet', (d) => { ext(d).gateways[1].address = '192.0.2.1/31'; ext(d).gateways[1].peer = '192.0.2.0'; }, [
    'externalNetworks[0].gateways[1].address | externalNetworks[0] (inet).gateways[1].address: 192.0.2.1/31 overlaps externalNetworks[0].gateways[0] 192.0.2.0/31',
  ]],
  ['peer AS is the fabric\'s', (d) => { ext(d).peerAsn = 64650; }, [
    "externalNetworks[0].peerAsn | externalNetworks[0] (inet).peerAsn: 64650 lies inside fabric.namespaces.asn[0] 64601..64700 (the fabric's own ASNs)",
  ]],
  ['peer AS is the overlay AS', (d) => { ext(d).peerAsn = 64512; }, [
    "externalNetworks[0].peerAsn | externalNetworks[0] (inet).peerAsn: 64512 is the fabric's overlay AS (the outside router needs its own AS for EBGP)",
  ]],
  ['nothing imported', (d) => { delete ext(d).import; delete ext(d).defaultRoute; }, [
    'externalNetworks[0].import | externalNetworks[0] (inet).import: empty: give the outside prefixes to import or defaultRoute: true (nothing would reach the tenant)',
  ]],
  ['import of a tenant subnet', (d) => { ext(d).import = ['10.10.0.0/24']; }, [
    "externalNetworks[0].import[0] | externalNetworks[0] (inet).import[0]: 10.10.0.0/24 overlaps virtualNetworks[0] (web) 10.10.0.0/24 (the fabric's own space is never learned from outside)",
  ]],
  ['export of a network outside the router', (d) => { d.virtualNetworks.push({ name: 'lab', vni: 10300 }); ext(d).export = ['lab']; }, [
    'externalNetworks[0].export[0] | externalNetworks[0] (inet).export[0]: network "lab" is not in logical router t1 (its networks: web, db)',
  ]],
  ['unknown field (schema)', (d) => { ext(d).vlan = 5; }, [
    'externalNetworks[0].vlan | externalNetworks[0].vlan: unknown field (allowed: name, logicalRouter, peerAsn, gateways, import, defaultRoute, export)',
  ]],
  ['newline in a name (schema)', (d) => { ext(d).name = 'in\net'; }, [
    'externalNetworks[0].name | externalNetworks[0] (in\net).name: contains a control character (newline, tab, ...): not allowed',
  ]],
];

describe('external networks: validation', () => {
  test('the golden fabric is valid', () => {
    expect(problems(() => undefined, DCGW)).toEqual([]);
  });
  test.each(REFUSALS)('%s', (_n, mutate, want) => {
    expect(problems(mutate, DCGW)).toEqual(want);
  });
});

describe('external networks: intent', () => {
  test('the gateway carries the VRF without IRBs or networks, and its EBGP link; the leaves do not', () => {
    const { plans } = planFabric(DCGW);
    const gw = plans.find((p) => p.name === 'gw1')!;
    expect(gw.features).toContain('dc_gateway');
    expect(gw.logicalRouters.map((l) => [l.vrf, l.irbs.length, l.networks.length])).toEqual([['t1', 0, 0]]);
    expect(gw.virtualNetworks).toEqual([]);
    expect(gw.externalNetworks).toEqual([{
      name: 'inet', vrf: 't1', interface: 'swp1', address: '192.0.2.0/31', peer: '192.0.2.1', peerAsn: 65200,
      import: ['203.0.113.0/24'], defaultRoute: true, export: ['10.10.0.0/24'],
    }]);
    expect(plans.find((p) => p.name === 'leaf1')!.externalNetworks).toBeUndefined();
  });
  test('without external networks the gateway has no VRF (the route goes away with the object)', () => {
    const d = base(DCGW);
    delete d.externalNetworks;
    const gw = planFabric(d).plans.find((p) => p.name === 'gw1')!;
    expect(gw.logicalRouters).toEqual([]);
    expect(gw.externalNetworks).toBeUndefined();
    expect(gw.features).toContain('dc_gateway'); // the role's; it renders nothing without objects
  });
  test('IGMP snooping: on Junos ERB leaves, not on FRR (platform fact)', () => {
    const junos = planFabric(readFileSync(path.resolve(__dirname, '../golden/fabrics/dcgw-junos.yaml'), 'utf8')).plans;
    expect(junos.find((p) => p.name === 'leaf1')!.virtualNetworks.map((v) => [v.name, v.igmpSnooping])).toEqual([['web', true], ['db', true]]);
    expect(planFabric(DCGW).plans.find((p) => p.name === 'leaf1')!.virtualNetworks.every((v) => v.igmpSnooping === undefined)).toBe(true);
  });
});

describe('twin topology: routers', () => {
  const topo = (extra: Record<string, unknown>) => ({
    name: 'dg1', devices: [{ name: 'gw1', profile: 'frr-switch', serial: 'S1' }], management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' }, ...extra,
  });
  test('a router cabled to a device', () => {
    const t = validateTopology(topo({ routers: [{ name: 'ext1', config: 'ext1.frr.conf' }], links: [['gw1:swp1', 'ext1:eth1']] }));
    expect(t.routers).toEqual([{ name: 'ext1', config: 'ext1.frr.conf' }]);
    expect(t.links).toEqual([{ a: { node: 'gw1', port: 'swp1' }, b: { node: 'ext1', port: 'eth1' } }]);
  });
  test('refusals', () => {
    expect(() => validateTopology(topo({ routers: [{ name: 'ext1' }] }))).toThrow('topology: routers[0] (ext1).config: expected a non-empty string');
    expect(() => validateTopology(topo({ routers: [{ name: 'gw1', config: 'x' }] }))).toThrow('topology: routers[0].name: "gw1" is used twice');
    expect(() => validateTopology(topo({ routers: [{ name: 'a', config: 'x' }, { name: 'b', config: 'x' }], links: [['a:eth1', 'b:eth1']] })))
      .toThrow('topology: links[0]: both ends are routers (a router is cabled to the fabric)');
    expect(() => validateTopology(topo({ routers: [{ name: 'ext1', config: 'x' }], servers: [{ name: 's1', nics: ['ext1:eth2'] }] })))
      .toThrow('topology: servers[0] (s1).nics[0]: "ext1" is not a device of this topology');
  });
});
