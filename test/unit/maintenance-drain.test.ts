// The drain text (src/jobs/maintenance/drain.ts) on the golden configs: graceful shutdown in the
// BGP instance, the AS prepended towards eBGP peers only, idempotent, undrained = intended.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { drainFiles, hasDrain } from '../../src/jobs/maintenance/drain';
import { JUNOS_MAINT_GROUP, drainedEsiPorts, esiLagMembers } from '../../src/jobs/maintenance/esi-drain';

const golden = (dir: string, f: string) => readFileSync(path.join(__dirname, '../golden', dir, f), 'utf8');

test('FRR leaf: graceful-shutdown under router bgp, prepend route-map on the two eBGP spines, none on iBGP', () => {
  const files = { 'leaf1.frr.conf': golden('dc1-frr', 'leaf1.frr.conf'), 'leaf1.interfaces': 'x' };
  const d = drainFiles('frr', files);
  const t = d['leaf1.frr.conf'];
  expect(t).toMatch(/^router bgp 64512\n bgp graceful-shutdown\n/m);
  expect(t).toContain('  neighbor 10.254.0.0 route-map FABRIC-DRAIN-64603 out');
  expect(t).toContain('  neighbor 10.254.0.8 route-map FABRIC-DRAIN-64603 out');
  expect(t).not.toContain('10.255.0.1 route-map');
  expect(t).toMatch(/route-map FABRIC-DRAIN-64603 permit 10\n set as-path prepend 64603 64603 64603\nexit\n!\nend/);
  expect(t.split('\n').filter((l) => l.startsWith('route-map ')).length).toBe(1);
  expect(d['leaf1.interfaces']).toBe('x');
  expect(drainFiles('frr', d)).toEqual(d);
  expect(hasDrain('frr', d)).toBe(true);
  expect(hasDrain('frr', files)).toBe(false);
});

test('Junos: graceful-shutdown sender in every bgp element', () => {
  const x = golden('dc1-junos', 'leaf1.xml');
  const d = drainFiles('junos', { 'leaf1.xml': x })['leaf1.xml'];
  expect(d.split('<graceful-shutdown><sender/></graceful-shutdown>').length - 1).toBe(x.split('<bgp>').length - 1);
  expect(hasDrain('junos', { 'leaf1.xml': d })).toBe(true);
});

describe('ESI-LAG members out of service (esi-drain.ts)', () => {
  const frr = { 'leaf3.frr.conf': golden('services-frr', 'leaf3.frr.conf'), 'leaf3.interfaces': golden('services-frr', 'leaf3.interfaces') };
  const junos = { 'leaf3.xml': golden('services-junos', 'leaf3.xml') };

  test('finds the members of the LAGs that carry an ESI (FRR: bond with evpn mh es-id; Junos: ae with <esi>)', () => {
    expect(esiLagMembers('frr', frr)).toEqual([{ lag: 'bond1', ports: ['swp10'] }]);
    expect(esiLagMembers('junos', junos)).toEqual([{ lag: 'ae0', ports: ['xe-0/0/10'] }]);
    // a single-homed leaf and a spine: nothing to take out
    expect(esiLagMembers('frr', { 'leaf1.frr.conf': golden('services-frr', 'leaf1.frr.conf'), 'leaf1.interfaces': golden('services-frr', 'leaf1.interfaces') })).toEqual([]);
    expect(esiLagMembers('junos', { 'spine1.xml': golden('services-junos', 'spine1.xml') })).toEqual([]);
  });

  test('FRR: link-down yes on each member (a stanza of its own, or added to the existing one); idempotent; undrained = intended', () => {
    const d = drainFiles('frr', frr);
    expect(d['leaf3.interfaces']).toMatch(/\nauto swp10\niface swp10\n {4}link-down yes\n$/);
    expect(drainFiles('frr', d)).toEqual(d);
    expect(drainedEsiPorts('frr', d)).toEqual(['swp10']);
    expect(drainedEsiPorts('frr', frr)).toEqual([]);
    const own = { ...frr, 'leaf3.interfaces': `${frr['leaf3.interfaces']}\nauto swp10\niface swp10\n    mtu 9000\n` };
    const d2 = drainFiles('frr', own)['leaf3.interfaces'];
    expect(d2).toContain('iface swp10\n    link-down yes\n    mtu 9000\n');
    expect(d2.match(/iface swp10/g)).toHaveLength(1);
    expect(drainFiles('frr', { ...own, 'leaf3.interfaces': d2 })['leaf3.interfaces']).toBe(d2);
  });

  test('Junos: the members disabled in a group of their own, applied last; idempotent; read back from the canonical running groups', () => {
    const d = drainFiles('junos', junos)['leaf3.xml'];
    expect(d).toContain(`<name>${JUNOS_MAINT_GROUP}</name>\n    <interfaces>\n      <interface>\n        <name>xe-0/0/10</name>\n        <disable/>`);
    expect(d.trimEnd().split('\n').slice(-2)).toEqual([`  <apply-groups>${JUNOS_MAINT_GROUP}</apply-groups>`, '</configuration>']);
    expect(drainFiles('junos', { 'leaf3.xml': d })['leaf3.xml']).toBe(d);
    expect(drainedEsiPorts('junos', { 'leaf3.xml': d })).toEqual(['xe-0/0/10']);
    const canonical = `<groups>\n  <name>${JUNOS_MAINT_GROUP}</name>\n  <interfaces>\n    <interface>\n      <name>xe-0/0/10</name>\n      <disable/>\n    </interface>\n  </interfaces>\n</groups>\n`;
    expect(drainedEsiPorts('junos', { 'leaf3.groups': canonical })).toEqual(['xe-0/0/10']);
    expect(drainedEsiPorts('junos', junos)).toEqual([]);
  });
});
