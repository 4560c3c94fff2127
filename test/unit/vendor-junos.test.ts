// Issue 14, Junos faults found by reading the rendered configs beside Juniper's EVPN-VXLAN
// guides. Each test fails on the output from before its fix (checked by reverting the template).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { renderDevices } from '../../src/platforms';

const REPO = path.resolve(__dirname, '../..');
const LEAN = readFileSync(path.join(REPO, 'test/golden/fabrics/lean-junos.yaml'), 'utf8');
const DC1 = readFileSync(path.join(REPO, 'examples/dc1-junos.yaml'), 'utf8');

/** The lean fabric with `settings` put in front of its snmp line. */
const withSettings = (settings: string): string => LEAN.replace('  snmp:', `  settings: ${settings}\n  snmp:`);
const render = (text: string): Record<string, string> => renderDevices(planFabric(text).plans);

describe('Junos graceful restart (item 3)', () => {
  test('with BFD no graceful-restart is rendered anywhere', () => {
    const files = render(withSettings('{gracefulRestart: true}'));
    expect(files['leaf1.xml']).toContain('<bfd-liveness-detection>');
    for (const [f, xml] of Object.entries(files)) expect([f, xml.includes('graceful-restart')]).toEqual([f, false]);
  });

  test('without BFD the global routing-options statement is rendered', () => {
    const xml = render(withSettings('{gracefulRestart: true, bfd: {intervalMs: 0}}'))['leaf1.xml'];
    expect(xml).not.toContain('<bfd-liveness-detection>');
    const ro = xml.slice(xml.indexOf('<routing-options>'), xml.indexOf('</routing-options>'));
    expect(ro).toContain('<graceful-restart/>');
  });
});

describe('Junos overlay multipath (item 5)', () => {
  test('every internal overlay group carries multipath', () => {
    const files = render(DC1);
    let groups = 0;
    for (const xml of Object.values(files)) {
      for (const m of xml.matchAll(/<group>([\s\S]*?)<\/group>/g)) {
        if (!m[1].includes('<type>internal</type>')) continue;
        groups++;
        expect(m[1]).toContain('<multipath/>');
      }
    }
    expect(groups).toBeGreaterThan(0);
  });
});

describe('Junos BFD floor per model (item 2)', () => {
  test('a QFX5000 leaf renders max(setting, 1000 ms) and its plan warns; a QFX10002 keeps the setting', () => {
    const text = withSettings('{bfd: {intervalMs: 300, multiplier: 3}}');
    const { plans } = planFabric(text);
    const files = renderDevices(plans);
    expect(files['leaf1.xml']).toContain('<minimum-interval>1000</minimum-interval>');
    expect(files['spine1.xml']).toContain('<minimum-interval>300</minimum-interval>');
    expect(plans.find((p) => p.name === 'leaf1')!.warnings).toEqual([
      'BFD interval 300 ms is below what juniper-qfx5110-48s-4c supports; leaf1 runs 1000 ms',
    ]);
    expect(plans.find((p) => p.name === 'spine1')!.warnings).toBeUndefined();
  });

  test('a setting above the floor is rendered as asked, without a warning', () => {
    const { plans } = planFabric(withSettings('{bfd: {intervalMs: 1500, multiplier: 3}}'));
    expect(renderDevices(plans)['leaf3.xml']).toContain('<minimum-interval>1500</minimum-interval>');
    expect(plans.every((p) => p.warnings === undefined)).toBe(true);
  });
});
