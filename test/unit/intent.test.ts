import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError } from '../../src/domain/errors';
import { parseFabricFile } from '../../src/domain/parse';
import { collectFabricErrors } from '../../src/domain/validate';
import { DevicePlan, FabricFile } from '../../src/domain/types';
import { allocate, emptyAllocations } from '../../src/intent/allocate';
import { compileFabric, planFabric } from '../../src/intent/compile';
import { fabricToYaml, generateClos } from '../../src/intent/generate';

const ROOT = join(__dirname, '..', '..');
const text = (n: string) => readFileSync(join(ROOT, 'examples', `${n}.yaml`), 'utf8');
const file = (n = 'dc1-frr'): FabricFile => parseFabricFile(text(n));
const byName = (plans: DevicePlan[]) => Object.fromEntries(plans.map((p) => [p.name, p]));
const compile = (f: FabricFile) => compileFabric(f, allocate(f, emptyAllocations()));

describe('compileFabric', () => {
  test('one plan per device, in file order, with hostname, loopback, router id, ASN and platform', () => {
    const plans = compile(file('dc1-junos'));
    expect(plans.map((p) => p.name)).toEqual(['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3', 'leaf4']);
    const s1 = plans[0];
    expect([s1.hostname, s1.loopback, s1.routerId, s1.asn, s1.platform, s1.profile]).toEqual(
      ['spine1', '10.255.0.1', '10.255.0.1', 64601, 'junos', 'juniper-qfx10002-36q']);
    expect(s1.underlay.exportLoopback).toBe('10.255.0.1');
    expect(plans[4].profile).toBe('juniper-qfx5120-48y');
    expect([s1.virtualNetworks, s1.logicalRouters, s1.vpgs]).toEqual([[], [], []]);
  });

  test('EBGP underlay: one session per addressed link, both ends agree on addresses and ASNs', () => {
    const plans = byName(compile(file()));
    expect(plans.spine1.underlay.neighbors).toHaveLength(4);
    expect(plans.spine2.underlay.neighbors).toHaveLength(4);
    for (const l of ['leaf1', 'leaf2', 'leaf3', 'leaf4']) expect(plans[l].underlay.neighbors).toHaveLength(2);
    let sessions = 0;
    for (const p of Object.values(plans)) {
      for (const n of p.underlay.neighbors) {
        const back = plans[n.peerDevice].underlay.neighbors.find((m) => m.peerDevice === p.name && m.address === n.localAddress);
        expect(back).toBeDefined();
        expect(back!.localAddress).toBe(n.address);
        expect(n.peerAsn).toBe(plans[n.peerDevice].asn);
        expect(back!.peerAsn).toBe(p.asn);
        expect(n.bfd).toBe(true);
        sessions++;
      }
    }
    expect(sessions).toBe(16); // 8 links, two ends each
    expect(plans.leaf1.underlay.neighbors[0]).toEqual({
      address: '10.254.0.0', localAddress: '10.254.0.1', peerAsn: 64601, peerDevice: 'spine1', interface: 'swp51', bfd: true,
    });
  });

  test('addressed interfaces carry the /31, the MTU and a description naming the peer', () => {
    const plans = byName(compile(file()));
    expect(plans.spine1.interfaces[0]).toEqual({
      name: 'swp1', address: '10.254.0.0/31', mtu: 9216, description: 'to leaf1:swp51', peer: { device: 'leaf1', port: 'swp51' },
    });
    expect(plans.leaf1.interfaces.map((i) => [i.name, i.address])).toEqual([['swp51', '10.254.0.1/31'], ['swp52', '10.254.0.9/31']]);
  });

  test('a leaf-leaf link gives interfaces without an address and no session', () => {
    const f = file();
    f.links.push({ a: { device: 'leaf1', port: 'swp1' }, b: { device: 'leaf2', port: 'swp1' } });
    const plans = byName(compile(f));
    const itf = plans.leaf1.interfaces.find((i) => i.name === 'swp1');
    expect(itf).toEqual({ name: 'swp1', mtu: 9216, description: 'to leaf2:swp1', peer: { device: 'leaf2', port: 'swp1' } });
    expect(plans.leaf1.underlay.neighbors).toHaveLength(2);
    expect(plans.leaf2.underlay.neighbors).toHaveLength(2);
  });

  test('overlay: RRs peer with each other as non-clients and with every client, one cluster id', () => {
    const plans = byName(compile(file()));
    const s1 = plans.spine1.overlay!;
    const s2 = plans.spine2.overlay!;
    expect(s1.routeReflector && s2.routeReflector).toBe(true);
    expect(s1.clusterId).toBe('10.255.0.1');
    expect(s2.clusterId).toBe('10.255.0.1');
    expect(s1.neighbors).toEqual([
      { address: '10.255.0.2', device: 'spine2', client: false },
      { address: '10.255.0.3', device: 'leaf1', client: true },
      { address: '10.255.0.4', device: 'leaf2', client: true },
      { address: '10.255.0.5', device: 'leaf3', client: true },
      { address: '10.255.0.6', device: 'leaf4', client: true },
    ]);
    expect(s2.neighbors.map((n) => [n.device, n.client])).toEqual([
      ['spine1', false], ['leaf1', true], ['leaf2', true], ['leaf3', true], ['leaf4', true],
    ]);
    const l1 = plans.leaf1.overlay!;
    expect(l1).toEqual({
      asn: 64512, localAddress: '10.255.0.3', routeReflector: false,
      neighbors: [{ address: '10.255.0.1', device: 'spine1', client: false }, { address: '10.255.0.2', device: 'spine2', client: false }],
      vtepSource: '10.255.0.3', routeDistinguisher: '10.255.0.3:1',
    });
    // iBGP sessions are symmetric: 2 RR-RR + 4 leaves x 2 RRs = 9 sessions, 18 ends
    const ends = Object.values(plans).reduce((s, p) => s + (p.overlay?.neighbors.length ?? 0), 0);
    expect(ends).toBe(18);
  });

  test('lean devices stay in the underlay only and are no overlay peers', () => {
    const f = file();
    f.devices.push({ name: 'spine3', profile: 'frr-switch', physicalRole: 'spine', roles: [] });
    f.links.push({ a: { device: 'spine3', port: 'swp1' }, b: { device: 'leaf1', port: 'swp53' } });
    const plans = byName(compile(f));
    expect(plans.spine3.overlay).toBeUndefined();
    expect(plans.spine3.features).toEqual(['basic', 'ip_clos']);
    expect(plans.spine3.roles).toEqual([]);
    expect(plans.spine3.underlay.neighbors.map((n) => n.peerDevice)).toEqual(['leaf1']);
    expect(plans.leaf1.underlay.neighbors).toHaveLength(3);
    expect(plans.spine1.overlay!.neighbors.map((n) => n.device)).not.toContain('spine3');
  });

  test('features: union over roles in canonical order', () => {
    const f = file();
    f.devices[0].roles = ['DC-Gateway', 'Route-Reflector'];
    const plans = byName(compile(f));
    expect(plans.spine1.features).toEqual(['basic', 'ip_clos', 'overlay_bgp', 'overlay_evpn', 'overlay_evpn_type5', 'overlay_networking', 'dc_gateway']);
    expect(plans.spine1.roles).toEqual(['DC-Gateway', 'Route-Reflector']);
    expect(plans.leaf1.features).toEqual(['basic', 'ip_clos', 'overlay_bgp', 'overlay_evpn', 'overlay_networking', 'overlay_lag', 'overlay_multi_homing', 'overlay_security_group']);
  });

  test('settings reach every plan; BFD interval 0 turns BFD off', () => {
    const f = parseFabricFile(text('dc1-frr').replace('    overlayAsn: 64512', '    overlayAsn: 64512\n  settings: {mtu: 9100, bfd: {intervalMs: 0}}'));
    const plans = compile(f);
    expect(plans[0].settings.mtu).toBe(9100);
    expect(plans[0].interfaces[0].mtu).toBe(9100);
    expect(plans.every((p) => p.underlay.neighbors.every((n) => n.bfd === false))).toBe(true);
  });

  test('deterministic', () => {
    expect(JSON.stringify(compile(file()))).toBe(JSON.stringify(compile(file())));
  });

  test('a link record that is not a /31 is a clear error', () => {
    const f = file();
    const a = allocate(f, emptyAllocations());
    for (const bad of ['10.254.0.1/31', '10.254.0.0/30', 'x/31']) {
      const broken = { ...a, links: { ...a.links, 'leaf1:swp51--spine1:swp1': bad } };
      expect(() => compileFabric(f, broken)).toThrow(`allocations: link leaf1:swp51--spine1:swp1 has "${bad}", not a /31`);
    }
  });

  test('missing allocations are a clear error', () => {
    expect(() => compileFabric(file(), emptyAllocations())).toThrow(/^allocations: no \/31 for link leaf1:swp51--spine1:swp1/);
  });
});

describe('planFabric', () => {
  test('parse + validate + allocate + compile; stable over an existing record', () => {
    const first = planFabric(text('dc1-frr'));
    expect(first.plans).toHaveLength(6);
    const again = planFabric(text('dc1-frr'), first.allocations);
    expect(again.allocations).toEqual(first.allocations);
    expect(again.plans).toEqual(first.plans);
  });

  test('bad input throws a FabricError with a path', () => {
    const bad = text('dc1-frr').replace('profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}', 'profile: nope, physicalRole: leaf, roles: [CRB-Access]}');
    expect(() => planFabric(bad)).toThrow(FabricError);
    try { planFabric(bad); } catch (e) { expect((e as FabricError).path).toBe('devices[2].profile'); }
  });
});

describe('generateClos', () => {
  test.each(['frr', 'junos'] as const)('the 1,056-device design shape (%s) is valid and compiles to the expected sessions', (platform) => {
    const f = generateClos({ spines: 32, leaves: 1024, rrs: 4, pods: 8, platform });
    expect(f.devices).toHaveLength(1056);
    expect(f.links).toHaveLength(4096);
    expect(collectFabricErrors(f)).toEqual([]);
    const plans = byName(compile(f));
    expect(plans.leaf1.underlay.neighbors.map((n) => n.peerDevice)).toEqual(['spine1', 'spine2', 'spine3', 'spine4']);
    expect(plans.leaf1024.underlay.neighbors.map((n) => n.peerDevice)).toEqual(['spine29', 'spine30', 'spine31', 'spine32']);
    expect(plans.spine5.underlay.neighbors).toHaveLength(128);
    expect(plans.spine5.overlay).toBeUndefined(); // spines 5.. are lean
    const rr = plans.spine1.overlay!;
    expect(rr.neighbors.filter((n) => !n.client)).toHaveLength(3);
    expect(rr.neighbors.filter((n) => n.client)).toHaveLength(1024);
    expect(plans.leaf500.overlay!.neighbors.map((n) => n.device)).toEqual(['spine1', 'spine2', 'spine3', 'spine4']);
  });

  test('the 5,000-device shape has 40 spines, 4,960 leaves, 4 uplinks per leaf', () => {
    const f = generateClos({ spines: 40, leaves: 4960, rrs: 4, pods: 10, platform: 'junos' });
    expect(f.devices).toHaveLength(5000);
    expect(f.links).toHaveLength(19840);
    expect(collectFabricErrors(f)).toEqual([]);
  });

  test('YAML text round-trips through the parser', () => {
    const f = generateClos({ spines: 4, leaves: 8, pods: 2, platform: 'junos' });
    expect(parseFabricFile(fabricToYaml(f))).toEqual(parseFabricFile(f));
    expect(fabricToYaml(f)).toContain('  - [spine1:et-0/0/0, leaf1:et-0/0/48]');
  });
});
