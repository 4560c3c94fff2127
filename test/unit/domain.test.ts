import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { FabricError } from '../../src/domain/errors';
import { parseFabricFile } from '../../src/domain/parse';
import {
  featuresFor, loadProfiles, loadRoleFeatures, portValid, profileForModel, profileForSysObjectId,
  profilesForSysObjectId, roleAllowed,
} from '../../src/domain/profiles';
import { collectFabricErrors, validateFabric } from '../../src/domain/validate';

const ROOT = join(__dirname, '..', '..');
const example = (name: string) => readFileSync(join(ROOT, 'examples', `${name}.yaml`), 'utf8');
// A fresh, mutable JSON-form copy of an example (what POST /fabrics would receive).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const base = (name = 'dc1-frr'): any => parseYaml(example(name));

/** Every problem: the schema's, which parse throws all at once, or else validation's. */
function errorsOf(doc: unknown): FabricError[] {
  let file;
  try {
    file = parseFabricFile(doc as object);
  } catch (e) {
    if (e instanceof FabricError) return e.errors;
    throw e;
  }
  return collectFabricErrors(file, loadProfiles());
}

function parseError(doc: unknown): FabricError {
  try {
    parseFabricFile(doc as object);
  } catch (e) {
    expect(e).toBeInstanceOf(FabricError);
    return e as FabricError;
  }
  throw new Error('expected a parse error');
}

describe('parseFabricFile', () => {
  test('parses the YAML example, splits link ends at the first colon and fills settings defaults', () => {
    const f = parseFabricFile(example('dc1-junos'));
    expect(f.devices).toHaveLength(6);
    expect(f.links[0]).toEqual({ a: { device: 'spine1', port: 'et-0/0/0' }, b: { device: 'leaf1', port: 'et-0/0/48' } });
    expect(f.fabric.settings).toEqual({
      mtu: 9216, bfd: { intervalMs: 300, multiplier: 3 }, gracefulRestart: true, ntp: [], syslog: [], dns: [],
    });
    expect(f.fabric.namespaces.overlayAsn).toBe(64512);
  });

  test('the same object as JSON parses to the same FabricFile as the YAML text', () => {
    expect(parseFabricFile(base('dc1-frr'))).toEqual(parseFabricFile(example('dc1-frr')));
    expect(parseFabricFile(JSON.stringify(base('dc1-frr')))).toEqual(parseFabricFile(example('dc1-frr')));
  });

  test('a port containing a colon keeps everything after the first colon', () => {
    const d = base('dc1-junos');
    d.links = [['spine1:xe-0/0/3:2', 'leaf1:et-0/0/48']];
    expect(parseFabricFile(d).links[0].a).toEqual({ device: 'spine1', port: 'xe-0/0/3:2' });
  });

  test('partial settings keep the other defaults', () => {
    const d = base();
    d.fabric.settings = { mtu: 9000, bfd: { multiplier: 5 }, ntp: ['10.0.0.5'] };
    expect(parseFabricFile(d).fabric.settings).toEqual({
      mtu: 9000, bfd: { intervalMs: 300, multiplier: 5 }, gracefulRestart: true, ntp: ['10.0.0.5'], syslog: [], dns: [],
    });
  });

  test('a bare YAML null role is the lean role "null"', () => {
    const text = example('dc1-frr').replace('roles: [Route-Reflector]}\n  - {name: spine2', 'roles: [Route-Reflector]}\n  - {name: spine2x, profile: frr-switch, physicalRole: spine, roles: [null]}\n  - {name: spine2');
    const f = parseFabricFile(text);
    expect(f.devices.find((d) => d.name === 'spine2x')?.roles).toEqual(['null']);
  });

  test.each([
    ['not YAML', 'fabric: [unclosed', '', /^fabric file is not valid YAML: /],
    ['missing fabric', { devices: [] }, 'fabric', /^fabric: missing/],
    ['unknown top-level field', { ...base(), device: [] }, 'device', /^device: unknown field \(allowed: fabric, devices, links/],
    ['link end without a port', (() => { const d = base(); d.links[2] = ['spine1', 'leaf3:swp51']; return d; })(),
      'links[2].a', /^links\[2\]\.a: "spine1" is not "device:port"$/],
    ['link with three ends', (() => { const d = base(); d.links[0] = ['spine1:swp1', 'leaf1:swp51', 'leaf2:swp9']; return d; })(),
      'links[0]', /^links\[0\]: expected two ends \[device:port, device:port\], got 3$/],
    ['unknown physical role', (() => { const d = base(); d.devices[1].physicalRole = 'core'; return d; })(),
      'devices[1].physicalRole', /^devices\[1\]\.physicalRole: unknown physical role "core" \(known: leaf, spine, superspine, gateway\)$/],
    ['missing profile', (() => { const d = base(); delete d.devices[0].profile; return d; })(),
      'devices[0].profile', /^devices\[0\]\.profile: expected a non-empty string, got nothing$/],
    ['bad mtu', (() => { const d = base(); d.fabric.settings = { mtu: 100 }; return d; })(),
      'fabric.settings.mtu', /^fabric\.settings\.mtu: 100 is outside 1280\.\.65535$/],
    ['ASN not an integer', (() => { const d = base(); d.fabric.namespaces.asn[0].min = '64601'; return d; })(),
      'fabric.namespaces.asn[0].min', /^fabric\.namespaces\.asn\[0\]\.min: expected an integer, got string "64601"$/],
  ])('structural error: %s', (_name, doc, path, message) => {
    const e = parseError(doc);
    expect(e.path).toBe(path);
    expect(e.message).toMatch(message);
  });
});

describe('validateFabric', () => {
  test('both examples are valid', () => {
    expect(errorsOf(base('dc1-frr'))).toEqual([]);
    expect(errorsOf(base('dc1-junos'))).toEqual([]);
    expect(() => validateFabric(parseFabricFile(example('dc1-junos')))).not.toThrow();
  });

  // One case per rule: [name, mutation, path, exact message]
  const cases: [string, (d: any) => void, string, string][] = [
    ['malformed CIDR', (d) => { d.fabric.namespaces.loopback[0] = '10.255.0.0/33'; },
      'fabric.namespaces.loopback[0]', 'fabric.namespaces.loopback[0]: "10.255.0.0/33" has a prefix length outside 0..32'],
    ['malformed address in a CIDR', (d) => { d.fabric.namespaces.fabric[0] = '10.254.0.256/20'; },
      'fabric.namespaces.fabric[0]', 'fabric.namespaces.fabric[0]: "10.254.0.256/20" has a malformed address'],
    ['CIDR with host bits', (d) => { d.fabric.namespaces.fabric[0] = '10.254.1.0/20'; },
      'fabric.namespaces.fabric[0]', 'fabric.namespaces.fabric[0]: "10.254.1.0/20" has host bits set (did you mean 10.254.0.0/20?)'],
    ['overlapping CIDRs across namespaces', (d) => { d.fabric.namespaces.fabric[0] = '10.255.0.0/20'; },
      'fabric.namespaces.fabric[0]', 'fabric.namespaces.fabric[0]: 10.255.0.0/20 overlaps fabric.namespaces.loopback[0] 10.255.0.0/24'],
    ['overlapping CIDRs in one namespace', (d) => { d.fabric.namespaces.loopback.push('10.255.0.128/25'); },
      'fabric.namespaces.loopback[1]', 'fabric.namespaces.loopback[1]: 10.255.0.128/25 overlaps fabric.namespaces.loopback[0] 10.255.0.0/24'],
    ['gateway outside its subnet', (d) => { d.fabric.namespaces.management[0].gateway = '10.0.1.1'; },
      'fabric.namespaces.management[0].gateway', 'fabric.namespaces.management[0].gateway: 10.0.1.1 is outside 10.0.0.0/24'],
    ['gateway is the broadcast address', (d) => { d.fabric.namespaces.management[0].gateway = '10.0.0.255'; },
      'fabric.namespaces.management[0].gateway', 'fabric.namespaces.management[0].gateway: 10.0.0.255 is the broadcast address of 10.0.0.0/24'],
    ['no ASN range', (d) => { d.fabric.namespaces.asn = []; },
      'fabric.namespaces.asn', 'fabric.namespaces.asn: empty: at least one ASN range {min, max} is needed'],
    ['reversed ASN range', (d) => { d.fabric.namespaces.asn[0] = { min: 64700, max: 64601 }; },
      'fabric.namespaces.asn[0]', 'fabric.namespaces.asn[0]: range is reversed (min 64700 > max 64601)'],
    ['ASN 0', (d) => { d.fabric.namespaces.asn[0] = { min: 0, max: 10 }; },
      'fabric.namespaces.asn[0].min', 'fabric.namespaces.asn[0].min: 0 is outside 1..4294967294'],
    ['ASN above 4294967294', (d) => { d.fabric.namespaces.asn[0] = { min: 4294967000, max: 4294967295 }; },
      'fabric.namespaces.asn[0].max', 'fabric.namespaces.asn[0].max: 4294967295 is outside 1..4294967294'],
    ['overlapping ASN ranges', (d) => { d.fabric.namespaces.asn.push({ min: 64700, max: 64800 }); },
      'fabric.namespaces.asn[1]', 'fabric.namespaces.asn[1]: 64700..64800 overlaps fabric.namespaces.asn[0] 64601..64700'],
    ['overlay ASN inside a range', (d) => { d.fabric.namespaces.overlayAsn = 64650; },
      'fabric.namespaces.overlayAsn', 'fabric.namespaces.overlayAsn: 64650 lies inside ASN range fabric.namespaces.asn[0] 64601..64700 (it must be outside every range)'],
    ['overlay ASN missing with overlay roles', (d) => { delete d.fabric.namespaces.overlayAsn; },
      'fabric.namespaces.overlayAsn', 'fabric.namespaces.overlayAsn: missing: spine1 has overlay role Route-Reflector, so the fabric needs an overlay (iBGP) ASN'],
    ['unknown profile', (d) => { d.devices[3].profile = 'juniper-qfx9999'; },
      'devices[3].profile', 'devices[3] (leaf2).profile: unknown profile "juniper-qfx9999" (known: frr-switch, juniper-mx204, juniper-qfx10002-36q, juniper-qfx10008, juniper-qfx5100-48s-6q, juniper-qfx5110-48s-4c, juniper-qfx5120-48y)'],
    ['unknown role', (d) => { d.devices[2].roles = ['CRB-Acces']; },
      'devices[2].roles[0]', 'devices[2] (leaf1).roles[0]: unknown role "CRB-Acces" (known: null, Route-Reflector, CRB-Access, CRB-Gateway, CRB-MCAST-Gateway, ERB-UCAST-Gateway, DC-Gateway, DCI-Gateway, AR-Replicator, AR-Client)'],
    ['role not allowed for model and physical role', (d) => { d.devices[3].profile = 'juniper-qfx5100-48s-6q'; d.devices[3].roles = ['CRB-Gateway']; d.links = []; },
      'devices[3].roles[0]', 'devices[3] (leaf2).roles[0]: role "CRB-Gateway" not allowed for juniper-qfx5100-48s-6q as leaf (allowed: CRB-Access, null)'],
    ['gateway profile used as a spine', (d) => { d.devices[0].profile = 'juniper-mx204'; d.links = []; },
      'devices[0].roles[0]', 'devices[0] (spine1).roles[0]: role "Route-Reflector" not allowed for juniper-mx204 as spine (allowed: none)'],
    ['lean not allowed', (d) => { d.devices[5] = { ...d.devices[5], profile: 'juniper-mx204', roles: [] }; d.links = []; },
      'devices[5].roles', 'devices[5] (leaf4).roles: lean (no role) not allowed for juniper-mx204 as leaf (allowed: none)'],
    ['null combined with a role', (d) => { d.devices[2].roles = ['CRB-Access', 'null']; },
      'devices[2].roles[1]', 'devices[2] (leaf1).roles[1]: role "null" (lean) cannot be combined with other roles'],
    ['no route reflector with an overlay', (d) => { d.devices[0].roles = []; d.devices[1].roles = []; },
      'devices', 'devices: the fabric has an overlay but no device has the Route-Reflector role'],
    ['ERB with CRB-Gateway', (d) => { d.devices[2].roles = ['ERB-UCAST-Gateway', 'CRB-Gateway']; },
      'devices[2].roles[1]', 'devices[2] (leaf1).roles[1]: ERB-UCAST-Gateway cannot be combined with CRB-Gateway'],
    ['ERB with DC-Gateway', (d) => { d.devices[0].roles = ['Route-Reflector', 'DC-Gateway', 'ERB-UCAST-Gateway']; },
      'devices[0].roles[1]', 'devices[0] (spine1).roles[1]: ERB-UCAST-Gateway cannot be combined with DC-Gateway'],
    ...(['CRB-MCAST-Gateway', 'AR-Replicator', 'AR-Client', 'DCI-Gateway'] as const).map((role): [string, (d: any) => void, string, string] => [ // eslint-disable-line @typescript-eslint/no-explicit-any
      `a role not built yet: ${role}`, (d) => { d.devices[0].roles = ['Route-Reflector', role]; },
      'devices[0].roles[1]', `devices[0] (spine1).roles[1]: role "${role}" is not built by this service yet: ${loadRoleFeatures().notBuilt.get(role)}; it is refused rather than accepted and left without configuration`]),
    ['link to an unknown device', (d) => { d.links[3] = ['spine1:swp4', 'leaf9:swp51']; },
      'links[3].b.device', 'links[3] (spine1:swp4 -- leaf9:swp51).b.device: unknown device "leaf9"'],
    ['port not valid for the profile', (d) => { d.devices[2].profile = 'juniper-qfx5110-48s-4c'; d.links[0] = ['spine1:swp1', 'leaf1:et-0/0/52']; d.links[4] = ['spine2:swp1', 'leaf1:et-0/0/49']; },
      'links[0].b.port', 'links[0] (spine1:swp1 -- leaf1:et-0/0/52).b.port: "et-0/0/52" is not a valid port for leaf1 (juniper-qfx5110-48s-4c: 10GbE SFP+ xe-0/0/0..47; 100GbE QSFP28 et-0/0/48..51)'],
    ['management port on an frr-switch', (d) => { d.links[0] = ['spine1:eth0', 'leaf1:swp51']; },
      'links[0].a.port', 'links[0] (spine1:eth0 -- leaf1:swp51).a.port: "eth0" is not a valid port for spine1 (frr-switch: front-panel swpN (breakout swpNsM); Linux interface names, not eth*/lo/mgmt*)'],
    ['a port used by two links', (d) => { d.links[1] = ['spine1:swp1', 'leaf2:swp51']; },
      'links[1].a', 'links[1] (spine1:swp1 -- leaf2:swp51).a: port spine1:swp1 is already used by links[0]'],
    ['a link to itself', (d) => { d.links.push(['leaf1:swp1', 'leaf1:swp2']); },
      'links[8]', 'links[8] (leaf1:swp1 -- leaf1:swp2): links leaf1 to itself'],
    ['duplicate device names', (d) => { d.devices[5].name = 'leaf3'; d.devices[5].serial = 'X'; d.links = d.links.filter((l: string[]) => !l[1].startsWith('leaf4')); },
      'devices[5].name', 'devices[5] (leaf3).name: duplicate device name "leaf3" (also devices[4])'],
    ['duplicate serials', (d) => { d.devices[4].serial = 'SIM0101'; },
      'devices[4].serial', 'devices[4] (leaf3).serial: duplicate serial "SIM0101" (also devices[2] (leaf1))'],
    ['invalid device name', (d) => { d.devices[2].name = 'leaf 1'; d.links = []; },
      'devices[2].name', 'devices[2].name: "leaf 1" is not a valid device name (letters, digits, ".", "_", "-"; up to 63)'],
    ['invalid fabric name', (d) => { d.fabric.name = 'dc/1'; },
      'fabric.name', 'fabric.name: "dc/1" is not a valid name (letters, digits, ".", "_", "-"; up to 63)'],
  ];

  test.each(cases)('%s', (_name, mutate, path, message) => {
    const d = base();
    mutate(d);
    const errs = errorsOf(d);
    expect(errs.map((e) => e.message)).toEqual([message]);
    expect(errs[0].path).toBe(path);
    expect(message).not.toContain('\n');
  });

  test('validateFabric throws the first problem and carries all of them', () => {
    const d = base();
    d.fabric.namespaces.asn = [];
    d.devices[1].profile = 'nope';
    let caught: unknown;
    try { validateFabric(parseFabricFile(d)); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(FabricError);
    const fe = caught as FabricError;
    expect(fe.path).toBe('fabric.namespaces.asn');
    expect(fe.errors.map((e) => e.path)).toEqual(['fabric.namespaces.asn', 'devices[1].profile']);
  });

  test('lean devices need no overlay ASN and no route reflector', () => {
    const d = base();
    delete d.fabric.namespaces.overlayAsn;
    for (const dev of d.devices) dev.roles = [];
    expect(errorsOf(d)).toEqual([]);
  });
});

describe('node profiles', () => {
  const profiles = loadProfiles();

  test('ships the required profiles, each named after its file', () => {
    expect(Object.keys(profiles).sort()).toEqual([
      'frr-switch', 'juniper-mx204', 'juniper-qfx10002-36q', 'juniper-qfx10008', 'juniper-qfx5100-48s-6q',
      'juniper-qfx5110-48s-4c', 'juniper-qfx5120-48y',
    ]);
    expect(profiles['frr-switch'].platform).toBe('frr');
    expect(profiles['juniper-qfx5110-48s-4c'].platform).toBe('junos');
    expect(loadProfiles()).toBe(profiles); // cached
  });

  test('role@physical pairs', () => {
    const q5100 = profiles['juniper-qfx5100-48s-6q'];
    expect(roleAllowed(q5100, 'CRB-Access', 'leaf')).toBe(true);
    expect(roleAllowed(q5100, 'Route-Reflector', 'spine')).toBe(true);
    expect(roleAllowed(q5100, 'null', 'spine')).toBe(true);
    expect(roleAllowed(q5100, 'CRB-Gateway', 'spine')).toBe(false);
    const q5110 = profiles['juniper-qfx5110-48s-4c'];
    for (const r of ['CRB-Gateway', 'DC-Gateway']) expect(roleAllowed(q5110, r, 'spine')).toBe(true);
    expect(roleAllowed(q5110, 'ERB-UCAST-Gateway', 'leaf')).toBe(true);
    const mx = profiles['juniper-mx204'];
    expect(roleAllowed(mx, 'DCI-Gateway', 'gateway')).toBe(true);
    expect(roleAllowed(mx, 'null', 'leaf')).toBe(false);
    expect(roleAllowed(profiles['frr-switch'], 'AR-Client', 'superspine')).toBe(true);
  });

  test('port names follow each model', () => {
    const q5110 = profiles['juniper-qfx5110-48s-4c'];
    expect(['xe-0/0/0', 'xe-0/0/47', 'et-0/0/48', 'et-0/0/51'].every((p) => portValid(q5110, p))).toBe(true);
    expect(['xe-0/0/48', 'et-0/0/52', 'et-0/0/47', 'swp1', 'et-0/0/048'].some((p) => portValid(q5110, p))).toBe(false);
    const q5100 = profiles['juniper-qfx5100-48s-6q'];
    expect(portValid(q5100, 'et-0/0/53')).toBe(true);
    expect(portValid(q5100, 'et-0/0/54')).toBe(false);
    const q5120 = profiles['juniper-qfx5120-48y'];
    expect(portValid(q5120, 'et-0/0/55')).toBe(true);
    expect(portValid(q5120, 'et-0/0/56')).toBe(false);
    const q10k = profiles['juniper-qfx10002-36q'];
    expect(portValid(q10k, 'et-0/0/35')).toBe(true);
    expect(portValid(q10k, 'xe-0/0/35:3')).toBe(true);
    expect(portValid(q10k, 'et-0/0/36')).toBe(false);
    const mx = profiles['juniper-mx204'];
    expect(portValid(mx, 'et-0/0/3') && portValid(mx, 'xe-0/1/7')).toBe(true);
    expect(portValid(mx, 'et-0/0/4') || portValid(mx, 'xe-0/1/8')).toBe(false);
    const frr = profiles['frr-switch'];
    expect(['swp1', 'swp51', 'swp1s2', 'uplink-1', 'veth0'].every((p) => portValid(frr, p))).toBe(true);
    expect(['eth0', 'lo', 'mgmt0', 'swp/1', 'a-name-longer-than-15'].some((p) => portValid(frr, p))).toBe(false);
  });

  test('discovery matching by model and by sysObjectID', () => {
    expect(profileForModel('qfx5110-48s-4c')?.name).toBe('juniper-qfx5110-48s-4c');
    expect(profileForModel('QFX5100-48S-6Q')?.name).toBe('juniper-qfx5100-48s-6q');
    expect(profileForModel('mx204')?.name).toBe('juniper-mx204');
    expect(profileForModel('ex4300-48t')).toBeUndefined();
    expect(profileForSysObjectId('1.3.6.1.4.1.8072.3.2.10')?.name).toBe('frr-switch');
    expect(profileForSysObjectId('.1.3.6.1.4.1.2636.1.1.1.4.82.8')?.name).toBe('juniper-qfx5100-48s-6q');
    // Every QFX5k answers the shared QFX OID: ambiguous, the model must decide.
    expect(profileForSysObjectId('1.3.6.1.4.1.2636.1.1.1.2.82')).toBeUndefined();
    expect(profilesForSysObjectId('1.3.6.1.4.1.2636.1.1.1.2.82').map((p) => p.name).sort()).toEqual([
      'juniper-qfx5100-48s-6q', 'juniper-qfx5110-48s-4c', 'juniper-qfx5120-48y',
    ]);
    expect(profileForSysObjectId('1.3.6.1.4.1.2636.1.1.1.2.821')).toBeUndefined();
  });

  test('role features: union in canonical order; lean is basic + ip_clos', () => {
    const rf = loadRoleFeatures();
    expect(featuresFor([], rf)).toEqual(['basic', 'ip_clos']);
    expect(featuresFor(['null'], rf)).toEqual(['basic', 'ip_clos']);
    expect(featuresFor(['Route-Reflector'], rf)).toEqual(['basic', 'ip_clos', 'overlay_bgp']);
    expect(featuresFor(['DC-Gateway', 'Route-Reflector', 'CRB-Gateway'], rf)).toEqual([
      'basic', 'ip_clos', 'overlay_bgp', 'overlay_evpn', 'overlay_evpn_gateway', 'overlay_evpn_type5', 'overlay_networking', 'dc_gateway',
    ]);
    expect(featuresFor(['ERB-UCAST-Gateway'], rf)).toContain('overlay_evpn_erb');
  });
});
