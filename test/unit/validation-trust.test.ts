// Input the security review found accepted (issue 12, item 8): each is now one error that
// names the field. Every case fails on the code before the fix (it validated clean).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { FabricError } from '../../src/domain/errors';
import { parseFabricFile } from '../../src/domain/parse';
import { collectFabricErrors } from '../../src/domain/validate';
import { allocate } from '../../src/intent/allocate';
import { loadProfiles, profileNamed } from '../../src/domain/profiles';

const ROOT = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const services = (): any => load(readFileSync(join(ROOT, 'examples', 'dc1-frr-services.yaml'), 'utf8'));

/** [path, message] of every problem, parse errors included. */
function problems(doc: unknown): [string, string][] {
  try {
    return collectFabricErrors(parseFabricFile(doc as object)).map((e) => [e.path ?? '', e.message]);
  } catch (e) {
    if (e instanceof FabricError) return [[e.path ?? '', e.message]];
    throw e;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cases: [string, (d: any) => void, string, RegExp][] = [
  ['VN subnet overlapping the fabric pool', (d) => { d.virtualNetworks[0].subnet = '10.254.1.0/24'; d.virtualNetworks[0].gateway = '10.254.1.1'; },
    'virtualNetworks[0].subnet', /10\.254\.1\.0\/24 overlaps fabric\.namespaces\.fabric\[0\] 10\.254\.0\.0\/20$/],
  ['VN subnet overlapping the management namespace', (d) => { d.virtualNetworks[0].subnet = '10.0.0.0/25'; d.virtualNetworks[0].gateway = '10.0.0.1'; },
    'virtualNetworks[0].subnet', /overlaps fabric\.namespaces\.management\[0\] 10\.0\.0\.0\/24$/],
  ['VN subnets overlapping each other', (d) => { d.virtualNetworks[1].subnet = '10.10.0.128/25'; d.virtualNetworks[1].gateway = '10.10.0.129'; },
    'virtualNetworks[1].subnet', /10\.10\.0\.128\/25 overlaps virtualNetworks\[0\] \(web\) 10\.10\.0\.0\/24$/],
  ['duplicate VN subnet', (d) => { d.virtualNetworks[1].subnet = '10.10.0.0/24'; d.virtualNetworks[1].gateway = '10.10.0.2'; },
    'virtualNetworks[1].subnet', /overlaps virtualNetworks\[0\] \(web\)/],
  ['the default route as a VN subnet', (d) => { d.virtualNetworks[0].subnet = '0.0.0.0/0'; d.virtualNetworks[0].gateway = '10.10.0.1'; },
    'virtualNetworks[0].subnet', /0\.0\.0\.0\/0 is not a tenant network/],
  ['AS_TRANS as overlay ASN', (d) => { d.fabric.namespaces.overlayAsn = 23456; },
    'fabric.namespaces.overlayAsn', /23456 is a reserved ASN/],
  ['65535 as overlay ASN', (d) => { d.fabric.namespaces.overlayAsn = 65535; },
    'fabric.namespaces.overlayAsn', /65535 is a reserved ASN/],
  ['a range that is only a reserved ASN', (d) => { d.fabric.namespaces.asn.push({ min: 23456, max: 23456 }); },
    'fabric.namespaces.asn[1]', /23456 is a reserved ASN/],
  ['a newline in an NTP server (config injection)', (d) => { d.fabric.settings = { ntp: ['10.0.0.5\nsystem root-authentication plain-text-password'] }; },
    'fabric.settings.ntp[0]', /control character/],
  ['an NTP server that is no host', (d) => { d.fabric.settings = { ntp: ['10.0.0.5; rm -rf'] }; },
    'fabric.settings.ntp[0]', /is not an IPv4 address or a host name/],
  ['a newline in the password (reaches the ZTP bootstrap)', (d) => { d.fabric.credentials.password = 'x\ny'; },
    'fabric.credentials.password', /control character/],
  ['a tab in a model', (d) => { d.devices[0].model = 'frr\tx'; },
    'devices[0].model', /control character/],
  ['a carriage return in a VPG name', (d) => { d.vpgs[0].name = 'a\rb'; },
    'vpgs[0].name', /control character/],
  ['a management address outside the namespace', (d) => { d.devices[0].managementIp = '192.0.2.7'; },
    'devices[0].managementIp', /192\.0\.2\.7 is outside the management namespace \(10\.0\.0\.0\/24\)/],
  ['a profile named after an Object property', (d) => { d.devices[0].profile = 'constructor'; },
    'devices[0].profile', /unknown profile "constructor"/],
];

describe('validation the security review asked for', () => {
  test('the services example is valid to begin with', () => {
    expect(problems(services())).toEqual([]);
  });

  test.each(cases)('%s', (_name, mutate, path, message) => {
    const d = services();
    mutate(d);
    const found = problems(d);
    expect(found.map(([p]) => p)).toContain(path);
    expect(found.find(([p]) => p === path)![1]).toMatch(message);
  });

  test('inherited names are no profiles', () => {
    const profiles = loadProfiles();
    for (const n of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) expect(profileNamed(profiles, n)).toBeUndefined();
    expect(profileNamed(profiles, 'frr-switch')?.platform).toBe('frr');
  });

  test('the allocator never hands out 65535 or AS_TRANS, and a device named "constructor" gets its own values', () => {
    const d = services();
    d.fabric.namespaces.asn = [{ min: 65533, max: 65539 }];
    d.devices[0].name = 'constructor';
    d.links = d.links.map((l: string[]) => l.map((e) => e.replace(/^spine1:/, 'constructor:')));
    const file = parseFabricFile(d);
    const a = allocate(file);
    expect(Object.values(a.asns)).not.toContain(65535);
    expect(Object.values(a.asns).sort((x, y) => x - y)).toEqual([65533, 65534, 65536, 65537, 65538, 65539]);
    expect(Object.hasOwn(a.loopbacks, 'constructor')).toBe(true);
    expect(typeof a.loopbacks.constructor).toBe('string');
  });
});
