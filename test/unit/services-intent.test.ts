// Overlay services intent: which device gets which VN / LR / VPG, derived names and numbers
// (ESI, LACP system id, es-id, ae/bond numbering, device-local VLANs, RD, route targets, IRB
// addresses), and that features render only where their objects exist.
import { planFabric, esiOf, esiPrefixOf, allocateEsis, lacpSystemIdOf, esIdOf } from '../../src/intent';
import { parseFabricFile } from '../../src/domain/parse';
import { renderDevice } from '../../src/platforms';
import { featuresNeeded, parseInterfaces } from '../../src/lab/agent/interfaces';
import type { DevicePlan } from '../../src/domain/types';
import { Doc, base, SERVICES_FRR, SERVICES_JUNOS } from './services-cases';

const plansOf = (input: string | Doc) => planFabric(input).plans;
const by = (plans: DevicePlan[], n: string) => plans.find((p) => p.name === n)!;
const groupsOf = (xml: string) => [...xml.matchAll(/<groups replace="replace">\s*<name>([^<]+)<\/name>/g)].map((m) => m[1]);

describe('ESI indexes (allocateEsis)', () => {
  const withVpgs = (names: string[]) => {
    const d = base();
    d.vpgs = names.map((n) => ({ name: n, ports: ['leaf3:swp10', 'leaf4:swp10'], bindings: [{ network: 'app', untagged: true }] }));
    d.vpgs.push({ name: 'single', ports: ['leaf1:swp10'], bindings: [{ network: 'web', untagged: true }] });
    return parseFabricFile(d);
  };

  test('multihomed VPGs only, lowest free index in file order', () => {
    expect(allocateEsis(withVpgs(['a', 'b', 'c']))).toEqual({ a: 1, b: 2, c: 3 });
  });

  test('stable: removing one frees its index, the others keep theirs; a new VPG takes the lowest free', () => {
    const first = allocateEsis(withVpgs(['a', 'b', 'c']));
    const without = allocateEsis(withVpgs(['a', 'c']), first);
    expect(without).toEqual({ a: 1, c: 3 });
    expect(allocateEsis(withVpgs(['d', 'a', 'c']), without)).toEqual({ d: 2, a: 1, c: 3 });
    // stored indexes win over file order; unusable ones are replaced
    expect(allocateEsis(withVpgs(['a', 'b']), { a: 7, b: 7 })).toEqual({ a: 7, b: 1 });
    expect(allocateEsis(withVpgs(['a']), { a: 0 })).toEqual({ a: 1 });
  });

  test('the plan takes the stored index: the ESI ends in it on every leg', () => {
    const { plans, allocations } = planFabric(withVpgs(['a']), { loopbacks: {}, asns: {}, links: {}, esis: { a: 42 } });
    expect(allocations.esis).toEqual({ a: 42 });
    for (const leaf of ['leaf3', 'leaf4']) {
      expect(by(plans, leaf).vpgs[0]).toMatchObject({ esiIndex: 42, esi: esiOf('svc1', 42) });
      expect(by(plans, leaf).vpgs[0].esi!.endsWith(':00:2a')).toBe(true);
    }
  });
});

describe('overlay services intent (frr)', () => {
  const plans = plansOf(SERVICES_FRR);

  test('ESI, LACP system id and es-id: fabric prefix + the VPG\'s index, equal on both leaves', () => {
    const esi = esiOf('svc1', 1);
    expect(esi).toMatch(/^00(:[0-9a-f]{2}){9}$/);
    expect(esi.split(':').slice(8)).toEqual(['00', '01']);
    expect(esiOf('svc1', 0x1234).split(':').slice(8)).toEqual(['12', '34']);
    // the first 8 bytes are the fabric's, the same for every segment
    expect(esiOf('svc1', 2).split(':').slice(0, 8)).toEqual(esi.split(':').slice(0, 8));
    expect(esi.split(':').slice(0, 8)).toEqual(esiPrefixOf('svc1'));
    expect(esiOf('other', 1)).not.toBe(esi);
    expect(() => esiOf('svc1', 0)).toThrow(/outside 1\.\.65535/);
    expect(() => esiOf('svc1', 65536)).toThrow(/outside 1\.\.65535/);
    expect(lacpSystemIdOf(esi)).toBe(`02:${esi.split(':').slice(5).join(':')}`);
    const [a, b] = ['leaf3', 'leaf4'].map((n) => by(plans, n).vpgs[0]);
    // the same segment on both legs; only the DF preference tells the legs apart
    expect({ ...a, esDfPref: 0 }).toEqual({ ...b, esDfPref: 0 });
    expect([a.esDfPref, b.esDfPref]).toEqual([50000, 49900]);
    expect(a).toEqual({
      name: 'vpg3', server: 'bms3', esi, esiIndex: 1, lacpSystemId: lacpSystemIdOf(esi), esId: esIdOf(esi), esDfPref: 50000, lag: 'bond1', interface: 'bond1', ports: ['swp10'],
      bindings: [
        { network: 'app', vni: 10300, untagged: true, localVlan: 3445 },
        { network: 'web', vni: 10100, vlan: 110, untagged: false, localVlan: 110 },
      ],
    });
    expect(a.esId).toBeGreaterThanOrEqual(1);
    expect(a.esId).toBeLessThanOrEqual(16777215);
  });

  test('single-homed: one port is the interface itself; two ports make a bond without ESI', () => {
    expect(by(plans, 'leaf1').vpgs).toEqual([{
      name: 'vpg1', server: 'bms1', interface: 'swp10', ports: ['swp10'],
      bindings: [{ network: 'web', vni: 10100, untagged: true, localVlan: 3245 }],
    }]);
    const v2 = by(plans, 'leaf2').vpgs[0];
    expect([v2.lag, v2.interface, v2.ports, v2.esi]).toEqual(['bond1', 'bond1', ['swp10', 'swp11'], undefined]);
  });

  test('VNs per device: bound here or routed here; VLAN = lowest tagged binding, else the pool slot of its VNI', () => {
    const vns = (n: string) => by(plans, n).virtualNetworks.map((v) => `${v.name}:${v.vlan}${v.router ? `@${v.router}` : ''}`);
    // pool slot = 3000 + VNI mod 1095: web 10100 -> 3245, db 10200 -> 3345, app 10300 -> 3445
    expect(vns('spine1')).toEqual(['web:3245@crb1', 'db:3345@crb1']);
    expect(vns('leaf1')).toEqual(['web:3245']);
    expect(vns('leaf2')).toEqual(['web:100', 'db:200']);
    expect(vns('leaf3')).toEqual(['web:110', 'app:3445@erb1']);
    const web = by(plans, 'leaf2').virtualNetworks[0];
    expect(web).toEqual({
      name: 'web', vni: 10100, vlan: 100, routeTarget: 'target:64512:10100', rd: '10.255.0.4:10100',
      subnet: '10.10.0.0/24', gateway: '10.10.0.1',
      members: [{ interface: 'bond1', vpg: 'vpg2', vlan: 100, untagged: false }],
    });
  });

  test('logical routers: CRB on CRB-Gateway spines with distinct IRB addresses, ERB anycast on ERB leaves', () => {
    expect(plans.map((p) => `${p.name}:${p.logicalRouters.map((l) => l.name).join(',')}`))
      .toEqual(['spine1:crb1', 'spine2:crb1', 'leaf1:', 'leaf2:', 'leaf3:erb1', 'leaf4:erb1']);
    const crb = (n: string) => by(plans, n).logicalRouters[0];
    expect(crb('spine1').irbs.map((i) => i.address)).toEqual(['10.10.0.254/24', '10.20.0.254/24']);
    expect(crb('spine2').irbs.map((i) => i.address)).toEqual(['10.10.0.253/24', '10.20.0.253/24']);
    expect(crb('spine1')).toMatchObject({ vrf: 'crb1', l3vni: 20001, l3vlan: 3291, routeTarget: 'target:64512:20001', rd: '10.255.0.1:13291' });
    expect(by(plans, 'leaf3').logicalRouters[0].irbs).toEqual([
      { network: 'app', vni: 10300, vlan: 3445, address: '10.30.0.1/24', gateway: '10.30.0.1/24', mac: '00:00:5e:00:01:01' },
    ]);
  });

  test('a CRB gateway address never takes the VN gateway (gateway at the top of the subnet)', () => {
    const d = base();
    d.virtualNetworks[0].gateway = '10.10.0.254';
    const p = plansOf(d);
    expect(by(p, 'spine1').logicalRouters[0].irbs[0].address).toBe('10.10.0.253/24');
    expect(by(p, 'spine2').logicalRouters[0].irbs[0].address).toBe('10.10.0.252/24');
  });

  test('local VLANs: a VN whose lowest VLAN is taken on this device goes to the pool, which skips tagged VLANs', () => {
    const d = base();
    d.servers.push({ name: 'bms4', nics: ['leaf2:swp12'] });
    // app rides VLAN 100 on vpg4 while web holds 100 on leaf2; and a tagged 3445 blocks app's pool slot
    d.vpgs.push({ name: 'vpg4', server: 'bms4', ports: ['leaf2:swp12'], bindings: [{ network: 'app', vlan: 100 }, { network: 'db', vlan: 3445 }] });
    const leaf2 = by(plansOf(d), 'leaf2');
    expect(leaf2.virtualNetworks.map((v) => `${v.name}:${v.vlan}`)).toEqual(['web:100', 'db:200', 'app:3446']);
    expect(leaf2.vpgs.map((v) => v.interface)).toEqual(['bond1', 'swp12']);
  });

  test('pool VLANs stay put when another network is added before them or deleted', () => {
    const vlans = (d: Doc, dev: string) => Object.fromEntries(by(plansOf(d), dev).virtualNetworks.map((v) => [v.name, v.vlan]));
    const before = vlans(base(), 'spine1');
    // a new network first in the file, routed by crb1 too
    const added = base();
    added.virtualNetworks.unshift({ name: 'mgmt', vni: 10050, subnet: '10.5.0.0/24', gateway: '10.5.0.1' });
    added.logicalRouters[0].networks.unshift('mgmt');
    expect(vlans(added, 'spine1')).toEqual({ ...before, mgmt: 3000 + (10050 % 1095) });
    // web unrouted and unbound everywhere: db keeps its VLAN on spine1
    const removed = base();
    removed.logicalRouters[0].networks = ['db'];
    removed.vpgs = removed.vpgs.map((v: { bindings: { network: string }[] }) => ({ ...v, bindings: v.bindings.filter((b) => b.network !== 'web') }))
      .filter((v: { bindings: unknown[] }) => v.bindings.length > 0);
    expect(vlans(removed, 'spine1')).toEqual({ db: before.db });
  });

  test('two networks on one pool slot: the lower VNI keeps it, the other takes the next free one, whatever the file order', () => {
    const clash = (order: 'asc' | 'desc') => {
      const d = base();
      // 11195 = 10100 + 1095: the same slot as web
      d.virtualNetworks.push({ name: 'web2', vni: 11195, subnet: '10.11.0.0/24', gateway: '10.11.0.1' });
      d.logicalRouters[0].networks.push('web2');
      if (order === 'desc') d.virtualNetworks.reverse();
      return Object.fromEntries(by(plansOf(d), 'spine1').virtualNetworks.map((v) => [v.name, v.vlan]));
    };
    expect(clash('asc')).toMatchObject({ web: 3245, web2: 3246 });
    expect(clash('desc')).toEqual(clash('asc'));
  });

  test('pure and deterministic: a frozen input plans the same twice', () => {
    const doc = base();
    const freeze = (o: unknown): unknown => { if (o && typeof o === 'object') { Object.freeze(o); Object.values(o).forEach(freeze); } return o; };
    freeze(doc);
    expect(plansOf(doc)).toEqual(plansOf(SERVICES_FRR));
  });

  test('features render only where their objects exist', () => {
    const files = (n: string) => renderDevice(by(plans, n)).files;
    // leaf1: an L2VNI and an access port, no VRF, no bond, no ES
    const l1 = files('leaf1');
    expect(Object.keys(l1).sort()).toEqual(['leaf1.frr.conf', 'leaf1.interfaces']);
    expect(l1['leaf1.frr.conf']).not.toMatch(/vrf|evpn mh|advertise-default-gw/);
    expect(l1['leaf1.interfaces']).not.toMatch(/bond|vrf/);
    // leaf3: ES on the bond, VRF with L3VNI, anycast SVI
    const l3 = files('leaf3');
    expect(l3['leaf3.frr.conf']).toContain('interface bond1\n evpn mh es-id');
    expect(l3['leaf3.interfaces']).toContain('iface br10300\n    bridge-ports vxlan10300 bond1\n    bridge-stp off\n    vrf erb1\n    address 10.30.0.1/24\n');
    expect(l3['leaf3.interfaces']).not.toContain('hwaddress'); // ERB SVIs keep their own MAC (overlay_networking.njk)
    expect(l3['leaf3.interfaces']).toContain('iface bond1.110\n');
    // spines: default-gw advertisement and two addresses (own + gateway) on the SVI
    const s1 = files('spine1');
    expect(s1['spine1.frr.conf']).toContain('  advertise-default-gw\n');
    expect(s1['spine1.interfaces']).toContain('    address 10.10.0.254/24\n    address 10.10.0.1/24\n');
    // no services at all: the examples render exactly as before (golden tests), no .interfaces
  });
});

describe('the device agent takes every rendered .interfaces text', () => {
  const plans = plansOf(SERVICES_FRR);
  test.each(['spine1', 'leaf1', 'leaf2', 'leaf3'])('%s parses with the agent\'s parser; kernel features as expected', (n) => {
    const text = renderDevice(by(plans, n)).files[`${n}.interfaces`];
    const ifaces = parseInterfaces(text);
    const want: Record<string, string[]> = {
      spine1: ['bridge', 'vrf', 'vxlan'],
      leaf1: ['bridge', 'vxlan'],
      leaf2: ['bond', 'bridge', 'vlan', 'vxlan'],
      leaf3: ['bond', 'bridge', 'vlan', 'vrf', 'vxlan'],
    };
    expect(featuresNeeded(ifaces).sort()).toEqual(want[n]);
    // bridges enslave exactly the vxlan of their VNI plus the access side
    const br = ifaces.find((f) => f.name === 'br10100')!;
    expect(br.kind).toBe('bridge');
    expect(br.attrs.get('bridge-ports')![0].split(' ')[0]).toBe('vxlan10100');
  });
});

describe('overlay services intent (junos)', () => {
  const plans = plansOf(SERVICES_JUNOS);

  test('ae numbering from 0 per device; device-count; groups only for features with objects', () => {
    expect(by(plans, 'leaf2').vpgs[0].lag).toBe('ae0');
    expect(by(plans, 'leaf3').vpgs[0].lag).toBe('ae0');
    const xml = (n: string) => renderDevice(by(plans, n)).files[`${n}.xml`];
    expect(groupsOf(xml('leaf1'))).toEqual(['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__', '__fabric_overlay_evpn__', '__fabric_overlay_networking__']);
    expect(groupsOf(xml('leaf2'))).toEqual(['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__', '__fabric_overlay_evpn__', '__fabric_overlay_networking__', '__fabric_overlay_lag__']);
    expect(groupsOf(xml('leaf3'))).toEqual(['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__', '__fabric_overlay_evpn__',
      '__fabric_overlay_evpn_erb__', '__fabric_overlay_evpn_type5__', '__fabric_overlay_networking__', '__fabric_overlay_lag__', '__fabric_overlay_multi_homing__']);
    expect(groupsOf(xml('spine1'))).toEqual(['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__', '__fabric_overlay_evpn__',
      '__fabric_overlay_evpn_gateway__', '__fabric_overlay_evpn_type5__', '__fabric_overlay_networking__']);
    expect(xml('leaf2')).toContain('<device-count>1</device-count>');
    expect(xml('leaf2')).toMatch(/<name>xe-0\/0\/11<\/name>\s*<ether-options>\s*<ieee-802.3ad>\s*<bundle>ae0<\/bundle>/);
    expect(xml('leaf1')).toMatch(/<name>xe-0\/0\/10<\/name>\s*<unit>\s*<name>0<\/name>\s*<family>\s*<ethernet-switching>\s*<interface-mode>access<\/interface-mode>\s*<vlan>\s*<members>web<\/members>/);
    expect(xml('leaf3')).toMatch(/<name>ae0<\/name>\s*<native-vlan-id>3445<\/native-vlan-id>/);
    expect(xml('spine1')).toMatch(/<name>10.10.0.254\/24<\/name>\s*<virtual-gateway-address>10.10.0.1<\/virtual-gateway-address>/);
  });
});
