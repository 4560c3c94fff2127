// Golden-file tests of the rendered configs. On a change the failure shows a unified diff;
// `UPDATE_GOLDEN=1 npx jest test/golden` rewrites the golden files on purpose.
import * as path from 'node:path';
import { compareGolden, planCase, planFabricFile, renderFabricFile, REPO } from './golden';

const CASES: [name: string, file: string][] = [
  ['dc1-frr', path.join(REPO, 'examples/dc1-frr.yaml')],
  ['dc1-junos', path.join(REPO, 'examples/dc1-junos.yaml')],
  ['lean-frr', path.join(REPO, 'test/golden/fabrics/lean-frr.yaml')],
  ['lean-junos', path.join(REPO, 'test/golden/fabrics/lean-junos.yaml')],
  ['mixed-frr', path.join(REPO, 'test/golden/fabrics/mixed-frr.yaml')],
  ['adopted-frr', path.join(REPO, 'test/golden/fabrics/adopted-frr.yaml')],
  ['adopted-junos', path.join(REPO, 'test/golden/fabrics/adopted-junos.yaml')],
  ['adopted-junos-managed', path.join(REPO, 'test/golden/fabrics/adopted-junos-managed.yaml')],
];

describe('golden configs', () => {
  test.each(CASES)('%s renders as its golden files', (name, file) => {
    const problems = compareGolden(name, renderFabricFile(file));
    if (problems) throw new Error(`rendered ${name} differs from test/golden/${name}:\n${problems}`);
  });

  // The intent half alone: a template change leaves these alone, an intent change shows here.
  test.each(CASES)('%s plans as its golden DevicePlans', (name, file) => {
    const problems = compareGolden(planCase(name), planFabricFile(file));
    if (problems) throw new Error(`DevicePlans of ${name} differ from test/golden/${planCase(name)}:\n${problems}`);
  });

  test('the examples render one file per device (FRR: frr.conf and .interfaces, the fabric MTU is a netdev setting)', () => {
    const frr = renderFabricFile(path.join(REPO, 'examples/dc1-frr.yaml'));
    expect(Object.keys(frr).sort()).toEqual(
      ['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2'].flatMap((d) => [`${d}.frr.conf`, `${d}.interfaces`]),
    );
    // issue 14 item 10: the plan's MTU reaches every fabric port (it fails when no file renders it)
    expect(frr['leaf1.interfaces']).toMatch(/^iface swp\S+\n {4}mtu 9216$/m);
    expect(Object.keys(renderFabricFile(path.join(REPO, 'examples/dc1-junos.yaml'))).sort()).toEqual(
      ['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2'].map((d) => `${d}.xml`),
    );
  });
});
