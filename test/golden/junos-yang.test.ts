// The rendered Junos XML validates against Juniper's 23.4R1 YANG (../shared/tools/
// junos-yang-check, yanglint): the examples, a lean fabric, every optional `basic` setting,
// and an MX204 gateway checked against the MX ('junos') family. yanglint loads Juniper's large
// modules once per file (seconds each), so each case checks the devices that differ in what
// renders (a route reflector, a VTEP leaf, a lean leaf, an MX); .ci/run checks every example
// device with the same tool.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import { REPO } from './golden';

const TOOL = path.resolve(REPO, '../shared/tools/junos-yang-check');
// The checker lives beside the repository, not in it (.ci/run guards it the same way).
const d = existsSync(TOOL) ? describe : describe.skip;

const SETTINGS_AND_MX = `
fabric:
  name: dc2
  credentials: {username: admin, password: s3cret}
  settings: {mtu: 9000, bfd: {intervalMs: 250, multiplier: 4}, gracefulRestart: false,
             ntp: [10.0.0.2, 10.0.0.3], syslog: [10.0.0.4], dns: [10.0.0.5]}
  namespaces:
    management: [{cidr: 10.0.0.0/24, gateway: 10.0.0.1}]
    loopback: [10.255.0.0/24]
    fabric: [10.254.0.0/20]
    asn: [{min: 4200000001, max: 4200000100}]
    overlayAsn: 4210000000
devices:
  - {name: spine1, profile: juniper-qfx10002-36q, physicalRole: spine, roles: [Route-Reflector]}
  - {name: leaf1, profile: juniper-qfx5110-48s-4c, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf2, profile: juniper-qfx5100-48s-6q, physicalRole: leaf, roles: []}
  - {name: gw1, profile: juniper-mx204, physicalRole: gateway, roles: [DC-Gateway]}
links:
  - [spine1:et-0/0/0, leaf1:et-0/0/48]
  - [spine1:et-0/0/1, leaf2:et-0/0/48]
  - [spine1:et-0/0/2, gw1:et-0/0/0]
  - [leaf1:et-0/0/49, leaf2:et-0/0/49]
`;

d('rendered Junos XML against Juniper YANG 23.4R1', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(path.join(tmpdir(), 'junos-yang-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function check(name: string, text: string, devices: string[]): { qfx: string; mx: string } {
    const out = { qfx: path.join(dir, name, 'qfx'), mx: path.join(dir, name, 'mx') };
    mkdirSync(out.qfx, { recursive: true });
    mkdirSync(out.mx, { recursive: true });
    let n = 0;
    for (const p of planFabric(text).plans.filter((x) => devices.includes(x.name))) {
      for (const [f, xml] of Object.entries(renderDevice(p).files)) {
        writeFileSync(path.join(p.profile.startsWith('juniper-mx') ? out.mx : out.qfx, f), xml);
        n++;
      }
    }
    expect(n).toBe(devices.length);
    const run = (family: string, d2: string) => {
      const r = spawnSync(TOOL, ['--family', family, d2], { encoding: 'utf8', timeout: 120000 });
      return `${r.status} ${r.stdout.trim()}`;
    };
    const hasMx = planFabric(text).plans.some((p) => devices.includes(p.name) && p.profile.startsWith('juniper-mx'));
    return { qfx: run('qfx', out.qfx), mx: hasMx ? run('mx', out.mx) : 'none' };
  }

  test('examples/dc1-junos.yaml validates', () => {
    expect(check('dc1', readFileSync(path.join(REPO, 'examples/dc1-junos.yaml'), 'utf8'), ['spine1', 'leaf1']))
      .toEqual({ qfx: '0 2 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
  }, 300000);

  test('a lean fabric validates', () => {
    expect(check('lean', readFileSync(path.join(REPO, 'test/golden/fabrics/lean-junos.yaml'), 'utf8'), ['leaf1']))
      .toEqual({ qfx: '0 1 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
  }, 300000);

  test('every optional setting, 4-byte ASNs, a lean leaf and an MX gateway validate', () => {
    expect(check('dc2', SETTINGS_AND_MX, ['spine1', 'leaf1', 'leaf2', 'gw1']))
      .toEqual({ qfx: '0 3 valid, 0 invalid (junos-qfx 23.4R1)', mx: '0 1 valid, 0 invalid (junos 23.4R1)' });
  }, 300000);

  test('overlay services validate: CRB gateway + type-5 spine, ERB leaf with an ESI-LAG trunk', () => {
    expect(check('services', readFileSync(path.join(REPO, 'test/golden/fabrics/services-junos.yaml'), 'utf8'), ['spine1', 'leaf3']))
      .toEqual({ qfx: '0 2 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
  }, 300000);

  test('security groups (ethernet-switching filters) and a storm-control profile validate on an access leaf and an ERB leaf', () => {
    expect(check('security', readFileSync(path.join(REPO, 'test/golden/fabrics/security-junos.yaml'), 'utf8'), ['leaf2', 'leaf3']))
      .toEqual({ qfx: '0 2 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
  }, 300000);

  test('MX204 CRB and DC gateways with networks validate as MX (bridge-domains), their leaves as QFX', () => {
    expect(check('services-mx', readFileSync(path.join(REPO, 'test/golden/fabrics/services-mx.yaml'), 'utf8'), ['leaf1', 'gw1', 'gw2']))
      .toEqual({ qfx: '0 1 valid, 0 invalid (junos-qfx 23.4R1)', mx: '0 2 valid, 0 invalid (junos 23.4R1)' });
  }, 300000);

  test('an adopted fabric validates: EBGP EVPN overlay in the running AS, with and without the underlay', () => {
    expect(check('adopted', readFileSync(path.join(REPO, 'test/golden/fabrics/adopted-junos.yaml'), 'utf8'), ['spine1', 'leaf1']))
      .toEqual({ qfx: '0 2 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
    expect(check('adopted-managed', readFileSync(path.join(REPO, 'test/golden/fabrics/adopted-junos-managed.yaml'), 'utf8'), ['spine1', 'leaf1']))
      .toEqual({ qfx: '0 2 valid, 0 invalid (junos-qfx 23.4R1)', mx: 'none' });
  }, 300000);

  test('the checker does catch a wrong element (the test can fail)', () => {
    const bad = path.join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, 'x.xml'), '<configuration><routing-options><router-idd>1.1.1.1</router-idd></routing-options></configuration>');
    const r = spawnSync(TOOL, [bad], { encoding: 'utf8', timeout: 60000 });
    expect(r.status).toBe(1);
  }, 60000);
});
