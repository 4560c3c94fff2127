// manageUnderlay false (brownfield): the service's part woven into what an FRR device runs.
// The hand-written lines stay byte for byte, the rendered ones the device lacks are added, and
// what the service rendered before and no longer does is taken out. Pure.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { mergeFrrConf, mergeInterfaces, frrAdoptedFiles } from '../../src/platforms/frr/adopted';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import { junosConfigFacts } from '../../src/platforms/junos/rules';
import { junosAdoptedFiles } from '../../src/platforms/junos/adopted';
import { junosComparable } from '../../src/platforms/junos/config';

const REPO = path.resolve(__dirname, '../..');
const fabric = (f: string) => readFileSync(path.join(REPO, 'test/golden/fabrics', f), 'utf8');

// leaf1 of test/golden/fabrics/adopted-frr.yaml runs AS 64602 and 10.255.0.2, written by hand
const RUNNING = `frr version 8.4
frr defaults datacenter
hostname leaf1
log syslog informational
service integrated-vtysh-config
!
ip prefix-list LOOPBACKS seq 5 permit 10.255.0.0/24 le 32
!
interface lo
 ip address 10.255.0.2/32
exit
!
interface swp51
 description uplink (hand-written)
 ip address 10.254.0.1/31
exit
!
router bgp 64602
 bgp router-id 10.255.0.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 10.254.0.0 remote-as 64601
 neighbor 10.254.0.0 description spine1 uplink, ticket NET-4711
 !
 address-family ipv4 unicast
  network 10.255.0.2/32
  neighbor 10.254.0.0 activate
  neighbor 10.254.0.0 route-map UNDERLAY-IN in
 exit-address-family
exit
!
route-map UNDERLAY-IN permit 10
 match ip address prefix-list LOOPBACKS
exit
!
end
`;

const leaf1 = () => renderDevice(planFabric(fabric('adopted-frr.yaml')).plans.find((p) => p.name === 'leaf1')!).files;
const lines = (t: string) => t.split('\n');

/** `sub` occurs in `all` in order (lines may be in between). */
function isSubsequence(sub: string[], all: string[]): boolean {
  let i = 0;
  for (const l of all) if (i < sub.length && l === sub[i]) i++;
  return i === sub.length;
}

/** The lines a unified diff running -> merged adds and removes. */
function changes(a: string, b: string): { added: string[]; removed: string[] } {
  const body = createTwoFilesPatch('a', 'b', a, b, '', '', { context: 0 }).split('\n').slice(4);
  return { added: body.filter((l) => l.startsWith('+')).map((l) => l.slice(1)), removed: body.filter((l) => l.startsWith('-')).map((l) => l.slice(1)) };
}

describe('FRR: the service part woven into a hand-written running config', () => {
  test('the render has no underlay: no interface addresses, no underlay neighbours, bgpd in the running AS', () => {
    const conf = leaf1()['leaf1.frr.conf'];
    expect(conf).toContain('router bgp 64602\n');
    expect(conf).not.toMatch(/^interface /m);
    expect(conf).not.toContain('ip address');
    expect(conf).not.toContain('address-family ipv4 unicast');
    expect(conf).toContain(' neighbor 10.255.0.1 remote-as 64601');
  });

  test('every running line stays in place; only the service lines are added; all of them are there', () => {
    const owned = leaf1()['leaf1.frr.conf'];
    const merged = mergeFrrConf(RUNNING, owned);
    expect(isSubsequence(lines(RUNNING), lines(merged))).toBe(true);
    const { added, removed } = changes(RUNNING, merged);
    expect(removed).toEqual([]);
    const ownLines = new Set(lines(owned));
    expect(added.filter((l) => !ownLines.has(l) && l !== '!')).toEqual([]);
    // the overlay neighbour sits with the others inside router bgp, its EVPN family after ipv4
    const bgp = merged.slice(merged.indexOf('router bgp 64602'), merged.indexOf('\nroute-map UNDERLAY-IN'));
    expect(bgp).toMatch(/neighbor 10\.254\.0\.0 description spine1 uplink, ticket NET-4711\n neighbor 10\.255\.0\.1 remote-as 64601\n/);
    expect(bgp.indexOf(' exit-address-family\n !\n address-family l2vpn evpn')).toBeGreaterThan(0);
    expect(bgp).toContain('  vni 10010\n   rd 10.255.0.2:13155');
    expect(merged.endsWith('end\n')).toBe(true);
  });

  test('pushing the same again changes nothing', () => {
    const owned = leaf1()['leaf1.frr.conf'];
    const merged = mergeFrrConf(RUNNING, owned);
    expect(mergeFrrConf(merged, owned, owned)).toBe(merged);
  });

  test('what the service rendered before and no longer does goes; the hand-written lines stay', () => {
    const owned = leaf1()['leaf1.frr.conf'];
    const merged = mergeFrrConf(RUNNING, owned);
    // the network deleted: its vni stanza is gone from the render
    const without = owned.replace(/ {2}vni 10010\n[\s\S]*? {2}exit-vni\n/, '');
    expect(without).not.toContain('vni 10010');
    const again = mergeFrrConf(merged, without, owned);
    expect(again).toBe(mergeFrrConf(RUNNING, without));
    expect(isSubsequence(lines(RUNNING), lines(again))).toBe(true);
    // and a whole stanza the service owned (a tenant VRF's bgp) goes with it
    const withVrf = `${owned.replace(/\nend\n$/, '\n')}router bgp 64602 vrf blue\n neighbor 192.0.2.1 remote-as 64999\nexit\n!\nend\n`;
    const m2 = mergeFrrConf(RUNNING, withVrf);
    expect(m2).toContain('router bgp 64602 vrf blue\n');
    expect(mergeFrrConf(m2, owned, withVrf)).toBe(merged);
  });

  test('a device that runs nothing takes the render as it is', () => {
    expect(mergeFrrConf('', 'hostname x\n')).toBe('hostname x\n');
  });

  test('interfaces: the service stanzas replace their running copies, the device stanzas stay', () => {
    const run = 'auto swp51\niface swp51\n    mtu 9216\n\nauto br9\niface br9\n    bridge-ports swp9\n';
    const owned = leaf1()['leaf1.interfaces'];
    const m = mergeInterfaces(run, owned);
    expect(m.startsWith('auto swp51\niface swp51\n    mtu 9216\n')).toBe(true);
    expect(m).toContain('iface br10010\n    bridge-ports vxlan10010 swp10');
    // br9 was the service's: gone when the service no longer renders it; swp51 (the device's) stays
    expect(mergeInterfaces(run, owned, 'auto br9\niface br9\n    bridge-ports swp9\n')).not.toContain('br9');
    const files = frrAdoptedFiles('leaf1', { 'leaf1.frr.conf': RUNNING, 'leaf1.interfaces': run }, leaf1());
    expect(Object.keys(files).sort()).toEqual(['leaf1.frr.conf', 'leaf1.interfaces']);
  });
});

describe('Junos: an adopted fabric', () => {
  const plans = (f: string) => planFabric(fabric(f)).plans;
  test('manageUnderlay false: no underlay group, the overlay is EBGP multihop in each peer\'s AS, next hops unchanged', () => {
    for (const p of plans('adopted-junos.yaml')) {
      const xml = renderDevice(p).files[`${p.name}.xml`];
      expect(xml).not.toContain('__fabric_ip_clos__');
      expect(xml).not.toContain('<autonomous-system>');
      expect(xml).toMatch(/<name>overlay<\/name>\s*<type>external<\/type>\s*<multihop>\s*<ttl>3<\/ttl>\s*<no-nexthop-change\/>/);
      for (const n of p.overlay!.neighbors) expect(xml).toContain(`<name>${n.address}</name>\n            <description>${n.device}</description>\n            <peer-as>${n.asn}</peer-as>`);
      expect(junosConfigFacts(p, renderDevice(p).files).overlayGroups).toEqual([{ name: 'overlay', multipath: true }]);
    }
  });
  test('manageUnderlay true: the global AS is the device\'s own, no local-as', () => {
    for (const p of plans('adopted-junos-managed.yaml')) {
      const xml = renderDevice(p).files[`${p.name}.xml`];
      expect(xml).toContain(`<as-number>${p.asn}</as-number>`);
      expect(xml).not.toContain('<local-as>');
      expect(xml).toContain('<type>external</type>\n          <multihop>');
    }
  });
  test('manageUnderlay false on a device that runs the service\'s underlay group (it managed it before): the group is kept as it runs, not deleted', () => {
    const managed = renderDevice(plans('adopted-junos-managed.yaml').find((p) => p.name === 'leaf1')!).files;
    const running = junosComparable('leaf1', managed); // what the device runs: the groups as pushed
    const owned = renderDevice(plans('adopted-junos.yaml').find((p) => p.name === 'leaf1')!).files;
    const out = junosAdoptedFiles('leaf1', { 'leaf1.groups': running['leaf1.groups'] }, owned);
    expect(out['leaf1.xml']).toContain('<name>__fabric_ip_clos__</name>');
    // the kept group compares equal to what runs: the diff names the overlay change only
    const cmp = junosComparable('leaf1', out)['leaf1.groups'];
    const ipClos = (t: string) => t.slice(t.indexOf('<name>__fabric_ip_clos__</name>'), t.indexOf('</groups>', t.indexOf('<name>__fabric_ip_clos__</name>')));
    expect(ipClos(cmp)).toBe(ipClos(running['leaf1.groups']));
    expect(cmp).toContain('<apply-groups>__fabric_ip_clos__</apply-groups>');
    // a device that never ran it: the render as it is
    expect(junosAdoptedFiles('leaf1', { 'leaf1.groups': '' }, owned)).toBe(owned);
  });
});
