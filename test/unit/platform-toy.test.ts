// A new platform is a folder plus data (issue 13, item 3): the toy platform of test/toy-platform
// (a module, its templates, its data file and one node profile) is registered here and a fabric
// of toy leaves under FRR spines goes through validation, plan and render; what the toy lacks is
// refused at validation, naming device, role and feature.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { FabricError } from '../../src/domain/errors';
import { collectFabricErrors, parseFabricFile } from '../../src/domain';
import { loadPlatforms, loadProfiles } from '../../src/domain/profiles';
import { sha512crypt } from '../../src/discovery/crypt';
import { renderBootstrap } from '../../src/discovery/ztp';
import { planFabric } from '../../src/intent';
import { findPlatform, registerPlatform, unregisterPlatform } from '../../src/platforms';
import { Renderer, RenderError, renderDevices } from '../../src/platforms';
import { TOY_PROFILES, toy } from '../toy-platform';

const REPO = path.resolve(__dirname, '../..');
// The shipped profiles and platform data plus the toy's (a deployment adds its folder the same way).
const profiles = { ...loadProfiles(), ...loadProfiles(TOY_PROFILES) };
const platforms = new Map([...loadPlatforms(), ...loadPlatforms(TOY_PROFILES)]);

/** examples/dc1-frr.yaml with toy leaves (ports swpN -> portN on the leaf side). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toyFabric(): any {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const d = load(readFileSync(path.join(REPO, 'examples/dc1-frr.yaml'), 'utf8')) as any;
  for (const dev of d.devices) if (dev.physicalRole === 'leaf') dev.profile = 'toy-switch';
  d.links = d.links.map(([a, b]: [string, string]) => [a, b.replace(':swp', ':port')]);
  return d;
}

function errorsOf(d: object): string[] {
  return collectFabricErrors(parseFabricFile(d), profiles, platforms).map((e) => `${e.path} | ${e.message}`);
}

describe('a third platform, registered by a test', () => {
  beforeAll(() => registerPlatform(toy));
  afterAll(() => unregisterPlatform('toy'));

  test('a fabric with toy leaves validates, plans and renders; the FRR spines render as without them', () => {
    const { plans } = planFabric(toyFabric(), undefined, profiles, platforms);
    const leaf1 = plans.find((p) => p.name === 'leaf1')!;
    expect(leaf1.platform).toBe('toy');
    const files = renderDevices(plans);
    expect(Object.keys(files).sort()).toEqual(['leaf1.toy', 'leaf2.toy', 'leaf3.toy', 'leaf4.toy', 'spine1.frr.conf', 'spine1.interfaces', 'spine2.frr.conf', 'spine2.interfaces']);
    expect(files['leaf1.toy']).toBe([
      '! toy config of leaf1 (toy-switch)',
      'hostname leaf1',
      'loopback 10.255.0.3/32',
      'interface port51 address 10.254.0.1/31 mtu 9216',
      'interface port52 address 10.254.0.9/31 mtu 9216',
      'bgp asn 64603 router-id 10.255.0.3',
      'bgp neighbor 10.254.0.0 remote-as 64601 bfd',
      'bgp neighbor 10.254.0.8 remote-as 64602 bfd',
      'overlay neighbor 10.255.0.1 remote-as 64512 source 10.255.0.3',
      'overlay neighbor 10.255.0.2 remote-as 64512 source 10.255.0.3',
      'evpn vtep 10.255.0.3 rd 10.255.0.3:1',
      'end',
      '',
    ].join('\n'));
    // The spines' config only names the leaves' ports differently.
    const golden = readFileSync(path.join(REPO, 'test/golden/dc1-frr/spine1.frr.conf'), 'utf8');
    expect(files['spine1.frr.conf']).toBe(golden.replace(/(leaf\d:)swp/g, '$1port'));
  });

  test('a role the toy platform lacks is refused at validation, naming device, role and platform', () => {
    const d = toyFabric();
    d.devices.find((x: { name: string }) => x.name === 'leaf2').roles = ['ERB-UCAST-Gateway'];
    expect(errorsOf(d)).toEqual([
      'devices[3].roles[0] | devices[3] (leaf2).roles[0]: role "ERB-UCAST-Gateway" is not supported on platform toy (leaf2 is a toy-switch; toy supports: Route-Reflector, CRB-Access)',
    ]);
  });

  test('a feature the toy platform lacks (a VPG needs overlay_lag and overlay_multi_homing) is refused at validation, not at render', () => {
    const d = toyFabric();
    d.virtualNetworks = [{ name: 'web', vni: 10100, subnet: '10.10.0.0/24', gateway: '10.10.0.1' }];
    d.vpgs = [{ name: 'vpg1', ports: ['leaf1:port10'], bindings: [{ network: 'web', untagged: true }] }];
    const errs = errorsOf(d);
    expect(errs).toEqual([
      'devices[2].roles[0] | devices[2] (leaf1).roles[0]: platform toy does not support feature overlay_networking, which leaf1 needs (role CRB-Access for its 1 virtual network)',
      'devices[2].roles[0] | devices[2] (leaf1).roles[0]: platform toy does not support feature overlay_lag, which leaf1 needs (role CRB-Access for its 1 VPG)',
      'devices[2].roles[0] | devices[2] (leaf1).roles[0]: platform toy does not support feature overlay_multi_homing, which leaf1 needs (role CRB-Access for its 1 VPG)',
    ]);
    expect(() => planFabric(d, undefined, profiles, platforms)).toThrow(FabricError);
    // The other leaves carry no VPG: nothing to refuse there.
    expect(errs.some((e) => /leaf[234]/.test(e))).toBe(false);
  });

  test('its ZTP bootstrap comes from its own template folder and password form', () => {
    const b = renderBootstrap({ platform: 'toy', serial: 'TOY1', name: 'leaf1', credentials: { username: 'admin', password: 's3cret' }, salt: 'abcdefgh' });
    expect(b.contentType).toBe('text/plain');
    expect(b.body).toBe(`hostname leaf1\nuser admin password ${sha512crypt('s3cret', 'abcdefgh')}\nnetconf port 830\n`);
    expect(b.body).not.toContain('s3cret');
  });
});

describe('without its module', () => {
  test('data alone validates and plans, but rendering says the platform has no module', () => {
    expect(findPlatform('toy')).toBeUndefined();
    const { plans } = planFabric(toyFabric(), undefined, profiles, platforms);
    expect(() => new Renderer().render(plans.find((p) => p.name === 'leaf1')!)).toThrow(RenderError);
    expect(() => new Renderer().render(plans.find((p) => p.name === 'leaf1')!)).toThrow('device leaf1: unknown platform toy');
  });

  test('a profile naming a platform without data is refused when profiles load', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pl-toy-'));
    try {
      mkdirSync(path.join(dir, 'platforms'));
      copyFileSync(path.join(TOY_PROFILES, 'toy-switch.yaml'), path.join(dir, 'toy-switch.yaml'));
      copyFileSync(path.join(REPO, 'node-profiles/platforms/frr.yaml'), path.join(dir, 'platforms/frr.yaml'));
      expect(() => loadProfiles(dir)).toThrow('node profile toy-switch.yaml: platform: "toy" has no platform data (known: frr)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
