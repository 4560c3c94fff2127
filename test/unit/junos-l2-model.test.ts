// Layer-2 domains by the model's l2Model fact (issue 14 item 4): an MX204 writes
// `bridge-domains` (routing-interface irb.N, vxlan vni), a QFX `vlans` (l3-interface). The MX
// YANG family also knows EX9200's `vlans`, so only this test sees an MX rendered QFX-style.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { factsOf, loadPlatformData } from '../../src/domain/platforms';
import { defaultProfilesDir, loadProfiles } from '../../src/domain/profiles';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';

const REPO = path.resolve(__dirname, '../..');
const plans = planFabric(readFileSync(path.join(REPO, 'test/golden/fabrics/services-mx.yaml'), 'utf8')).plans;
const xml = (name: string) => renderDevice(plans.find((p) => p.name === name)!).files[`${name}.xml`];

describe('l2Model', () => {
  test('the fact: bridge-domains on the MX204 only', () => {
    const profiles = loadProfiles();
    const platforms = loadPlatformData(defaultProfilesDir());
    const byModel = Object.fromEntries(Object.values(profiles).filter((p) => p.platform === 'junos').map((p) => [p.name, factsOf(p, platforms).l2Model]));
    expect(byModel).toEqual({
      'juniper-mx204': 'bridge-domains', 'juniper-qfx10002-36q': 'vlans', 'juniper-qfx10008': 'vlans',
      'juniper-qfx5100-48s-6q': 'vlans', 'juniper-qfx5110-48s-4c': 'vlans', 'juniper-qfx5120-48y': 'vlans',
    });
    expect(plans.find((p) => p.name === 'gw1')!.l2Model).toBe('bridge-domains');
    expect(plans.find((p) => p.name === 'leaf1')!.l2Model).toBeUndefined();
  });

  test.each(['gw1', 'gw2'])('MX204 %s: bridge domains with the IRB and the VNI, no vlans', (gw) => {
    const x = xml(gw);
    expect(x).not.toContain('<vlans>');
    expect(x).not.toContain('<l3-interface>');
    const plan = plans.find((p) => p.name === gw)!;
    for (const lr of plan.logicalRouters) {
      for (const i of lr.irbs) {
        expect(x).toContain(`<domain>\n        <name>${i.network}</name>\n        <routing-interface>irb.${i.vlan}</routing-interface>\n      </domain>`);
      }
    }
    for (const v of plan.virtualNetworks) {
      expect(x).toContain(`<domain>\n        <name>${v.name}</name>\n        <vlan-id>${v.vlan}</vlan-id>\n        <vxlan>\n          <vni>${v.vni}</vni>`);
    }
    expect(plan.virtualNetworks.length).toBe(2);
  });

  test('QFX leaf: vlans as before', () => {
    const x = xml('leaf1');
    expect(x).toContain('<vlans>');
    expect(x).not.toContain('bridge-domains');
  });
});
