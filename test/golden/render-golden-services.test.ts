// Golden files of the overlay-services fabrics (VNs, logical routers, servers, VPGs) on both
// platforms. `UPDATE_GOLDEN=1 npx jest test/golden/render-golden-services.test.ts` rewrites them.
import * as path from 'node:path';
import { compareGolden, planCase, planFabricFile, renderFabricFile, REPO } from './golden';

const CASES: [name: string, file: string][] = [
  ['services-frr', path.join(REPO, 'test/golden/fabrics/services-frr.yaml')],
  ['services-junos', path.join(REPO, 'test/golden/fabrics/services-junos.yaml')],
  // MX204 CRB and DC gateways: bridge-domains, not vlans (issue 14 item 4)
  ['services-mx', path.join(REPO, 'test/golden/fabrics/services-mx.yaml')],
  // DC gateways to the outside (issue 16): MX204 and QFX10002 gateways, and the same on FRR
  ['dcgw-junos', path.join(REPO, 'test/golden/fabrics/dcgw-junos.yaml')],
  ['dcgw-frr', path.join(REPO, 'test/golden/fabrics/dcgw-frr.yaml')],
  // security groups on VPG bindings (both) and a storm-control port profile (Junos)
  ['security-frr', path.join(REPO, 'test/golden/fabrics/security-frr.yaml')],
  ['security-junos', path.join(REPO, 'test/golden/fabrics/security-junos.yaml')],
];

describe('golden configs: overlay services', () => {
  test.each(CASES)('%s renders as its golden files', (name, file) => {
    const problems = compareGolden(name, renderFabricFile(file));
    if (problems) throw new Error(`rendered ${name} differs from test/golden/${name}:\n${problems}`);
  });

  // The intent half alone: a template change leaves these alone, an intent change shows here.
  test.each(CASES)('%s plans as its golden DevicePlans', (name, file) => {
    const problems = compareGolden(planCase(name), planFabricFile(file));
    if (problems) throw new Error(`DevicePlans of ${name} differ from test/golden/${planCase(name)}:\n${problems}`);
  });
});
