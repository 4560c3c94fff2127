// The drain text (src/jobs/maintenance/drain.ts) on the golden configs: graceful shutdown in the
// BGP instance, the AS prepended towards eBGP peers only, idempotent, undrained = intended.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { drainFiles, hasDrain } from '../../src/jobs/maintenance/drain';

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
