// Platform data (node-profiles/platforms/<platform>.yaml): its checks, the facts a profile may
// override, and the one rule of which features take effect, read from the fabric file at
// validation and from the DevicePlan at render, held equal on every golden fabric.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { completeFacts, fact } from '../../src/domain/facts';
import { fileObjects, planObjects } from '../../src/domain/features';
import { parseFabricFile } from '../../src/domain/parse';
import { checkPlatformData, factsOf } from '../../src/domain/platforms';
import { checkProfile, loadPlatforms, loadProfiles } from '../../src/domain/profiles';
import { collectFabricErrors } from '../../src/domain/validate';
import { planFabric } from '../../src/intent';
import { platformNames } from '../../src/platforms';
import type { PlatformData } from '../../src/domain/types';

const REPO = path.resolve(__dirname, '../..');
const FABRICS = [
  'examples/dc1-frr.yaml', 'examples/dc1-junos.yaml',
  ...['lean-frr', 'lean-junos', 'mixed-frr', 'services-frr', 'services-junos'].map((n) => `test/golden/fabrics/${n}.yaml`),
];
const text = (f: string) => readFileSync(path.join(REPO, f), 'utf8');

describe('which features take effect', () => {
  test.each(FABRICS)('%s: the fabric file (validation) and the plans (render) agree on every device', (f) => {
    const { file, plans } = planFabric(text(f));
    const fromFile = fileObjects(file);
    for (const p of plans) expect([p.name, fromFile.get(p.name)]).toEqual([p.name, planObjects(p)]);
  });
});

describe('platform data', () => {
  const shipped = loadPlatforms();

  test('junos and frr ship, each with every fact', () => {
    expect([...shipped.keys()]).toEqual(['frr', 'junos']);
    expect(shipped.get('junos')!.facts).toEqual({ lag: { prefix: 'ae', first: 0 }, vlanScope: 'device', managementInterface: 'em0', loopbackInterface: 'lo0', bfdMinIntervalMs: 0, overlayEcmp: false, l2Model: 'vlans', igmpSnooping: true, stormControl: true });
    expect(shipped.get('frr')!.facts.lag).toEqual({ prefix: 'bond', first: 1 });
  });

  test('every shipped platform has both halves: its data and its module (src/platforms)', () => {
    expect(platformNames()).toEqual([...shipped.keys()].sort());
  });

  const doc = () => load(text('node-profiles/platforms/frr.yaml')) as Record<string, unknown>;
  test.each([
    ['an unknown feature', (d: Record<string, unknown>) => { d.features = ['basic', 'teleport']; }, 'platform data frr.yaml: features: unknown feature "teleport"'],
    ['an unknown role', (d: Record<string, unknown>) => { d.roles = ['Spine-King']; }, 'platform data frr.yaml: roles: unknown role "Spine-King"'],
    ['an unknown fact', (d: Record<string, unknown>) => { (d.facts as Record<string, unknown>).bfdFloorMs = 1000; }, 'platform data frr.yaml: facts.bfdFloorMs: unknown fact'],
    ['a missing fact', (d: Record<string, unknown>) => { delete (d.facts as Record<string, unknown>).vlanScope; }, 'platform data frr.yaml: facts: missing vlanScope'],
    ['a bad fact', (d: Record<string, unknown>) => { (d.facts as Record<string, unknown>).vlanScope = 'fabric'; }, 'platform data frr.yaml: facts.vlanScope: "fabric" is not device or port'],
    ['an unknown field', (d: Record<string, unknown>) => { d.colour = 'blue'; }, 'platform data frr.yaml: colour: unknown field'],
  ])('refuses %s with one line naming file and key', (_what, mutate, msg) => {
    const d = doc();
    mutate(d);
    expect(() => checkPlatformData(d, 'frr.yaml')).toThrow(msg);
  });

  test('a fact with a default needs a line only where it differs (how issue 14 adds one)', () => {
    const table = {
      lag: fact('lag', (v) => v as { prefix: string; first: number }),
      bfdFloorMs: fact('shortest BFD interval the box supports', (v) => v as number, 0),
    };
    expect(completeFacts({ lag: { prefix: 'ae', first: 0 } } as never, 'platform data x.yaml: facts', table)).toEqual({ lag: { prefix: 'ae', first: 0 }, bfdFloorMs: 0 });
    expect(completeFacts({ lag: { prefix: 'ae', first: 0 }, bfdFloorMs: 1000 } as never, 'w', table)).toMatchObject({ bfdFloorMs: 1000 });
    expect(() => completeFacts({} as never, 'platform data x.yaml: facts', table)).toThrow('platform data x.yaml: facts: missing lag');
  });

  test('a node profile overrides a fact for its model, and intent follows it (LAG names)', () => {
    const frr = load(text('node-profiles/frr-switch.yaml')) as Record<string, unknown>;
    const custom = checkProfile({ ...frr, facts: { lag: { prefix: 'po', first: 10 } } }, 'frr-switch.yaml', shipped);
    expect(factsOf(custom, shipped).lag).toEqual({ prefix: 'po', first: 10 });
    expect(factsOf(custom, shipped).vlanScope).toBe('port');
    const profiles = { ...loadProfiles(), 'frr-switch': custom };
    const { plans } = planFabric(text('test/golden/fabrics/services-frr.yaml'), undefined, profiles);
    expect(plans.find((p) => p.name === 'leaf2')!.vpgs.map((v) => v.lag)).toEqual(['po10']);
    expect(() => checkProfile({ ...frr, facts: { lag: { prefix: 'PO', first: 1 } } }, 'frr-switch.yaml', shipped)).toThrow('node profile frr-switch.yaml: facts.lag: expected');
  });

  test('a feature dropped from the data is refused at validation for the devices that need it, naming device, role and feature', () => {
    const frr: PlatformData = { ...shipped.get('frr')!, features: shipped.get('frr')!.features.filter((f) => f !== 'overlay_multi_homing') };
    const narrowed = new Map([...shipped, ['frr', frr]]);
    const errs = collectFabricErrors(parseFabricFile(text('test/golden/fabrics/services-frr.yaml')), loadProfiles(), narrowed).map((e) => e.message);
    expect(errs).toEqual([
      'devices[2] (leaf1).roles[0]: platform frr does not support feature overlay_multi_homing, which leaf1 needs (role CRB-Access for its 1 VPG)',
      'devices[3] (leaf2).roles[0]: platform frr does not support feature overlay_multi_homing, which leaf2 needs (role CRB-Access for its 1 VPG)',
      'devices[4] (leaf3).roles[0]: platform frr does not support feature overlay_multi_homing, which leaf3 needs (role ERB-UCAST-Gateway for its 1 VPG)',
      'devices[5] (leaf4).roles[0]: platform frr does not support feature overlay_multi_homing, which leaf4 needs (role ERB-UCAST-Gateway for its 1 VPG)',
    ]);
  });

  test('device-wide VLAN ids are checked where the facts say so (junos), not on frr', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const d = load(text('test/golden/fabrics/services-frr.yaml')) as any;
    // vpg2 on leaf2 carries web on VLAN 100; a second VPG there with web on VLAN 101 is fine on FRR (per-port VLANs)
    d.servers.push({ name: 'bms9', nics: ['leaf2:swp12'] });
    d.vpgs.push({ name: 'vpg9', server: 'bms9', ports: ['leaf2:swp12'], bindings: [{ network: 'web', vlan: 101 }] });
    expect(collectFabricErrors(parseFabricFile(d)).map((e) => e.message)).toEqual([]);
    const shipped2 = loadPlatforms();
    const deviceWide = new Map([...shipped2, ['frr', { ...shipped2.get('frr')!, facts: { ...shipped2.get('frr')!.facts, vlanScope: 'device' as const } }]]);
    expect(collectFabricErrors(parseFabricFile(d), loadProfiles(), deviceWide).map((e) => e.message)).toEqual([
      'vpgs[3] (vpg9).bindings[0].vlan: network web already rides VLAN 100 on FRR device leaf2 (vpgs[1].bindings[0]); FRR maps a network to one VLAN id per device',
    ]);
  });
});
