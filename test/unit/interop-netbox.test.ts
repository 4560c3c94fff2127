// NetBox export/import: the example fabrics round-trip (export -> the bulk-import files ->
// import -> the same fabric, and NetBox's numbering = intent's allocations); the files use
// NetBox's import field names; REST JSON dumps import too; bad input names what is wrong.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { loadProfiles } from '../../src/domain/profiles';
import { parseFabricFile } from '../../src/domain/parse';
import { planFabric } from '../../src/intent/compile';
import { COLUMNS, FILES, exportFabric, fabricYaml, netboxToFabric, readNetbox } from '../../src/interop/netbox';
import { parseCsv, toCsv } from '../../src/interop/netbox/csv';

const EX = join(__dirname, '../../examples');
const FABRIC_EXAMPLES = ['dc1-frr.yaml', 'dc1-frr-services.yaml', 'dc1-junos.yaml'];
const profiles = loadProfiles();
const filesOf = (r: { files: Record<string, string> }): Map<string, string> => new Map(Object.entries(r.files));

/** What NetBox has a place for: the fabric without secrets, settings and services. */
function comparable(f: ReturnType<typeof parseFabricFile>): unknown {
  return {
    name: f.fabric.name, namespaces: f.fabric.namespaces,
    devices: f.devices.map((d) => ({ name: d.name, serial: d.serial, profile: d.profile, physicalRole: d.physicalRole, roles: d.roles, managementIp: d.managementIp })),
    links: f.links,
  };
}

// NetBox's import forms' Meta.fields (dcim, ipam, extras bulk_import.py), the names it accepts.
const NETBOX_FIELDS: Record<keyof typeof COLUMNS, string[]> = {
  sites: ['name', 'slug', 'status', 'region', 'group', 'tenant', 'facility', 'time_zone', 'description', 'physical_address', 'shipping_address', 'latitude', 'longitude', 'comments', 'tags'],
  manufacturers: ['name', 'slug', 'description', 'tags'],
  'device-roles': ['name', 'slug', 'color', 'vm_role', 'config_template', 'description', 'tags'],
  tags: ['name', 'slug', 'color', 'description', 'weight', 'object_types'],
  devices: ['name', 'role', 'tenant', 'manufacturer', 'device_type', 'platform', 'serial', 'asset_tag', 'status', 'site', 'location', 'rack', 'position', 'face', 'latitude', 'longitude', 'parent', 'device_bay', 'airflow', 'virtual_chassis', 'vc_position', 'vc_priority', 'cluster', 'description', 'config_template', 'comments', 'tags'],
  interfaces: ['device', 'name', 'label', 'parent', 'bridge', 'lag', 'type', 'speed', 'duplex', 'enabled', 'mark_connected', 'wwn', 'vdcs', 'mtu', 'mgmt_only', 'description', 'poe_mode', 'poe_type', 'mode', 'vrf', 'rf_role', 'rf_channel', 'rf_channel_frequency', 'rf_channel_width', 'tx_power', 'tags'],
  cables: ['side_a_device', 'side_a_type', 'side_a_name', 'side_b_device', 'side_b_type', 'side_b_name', 'type', 'status', 'tenant', 'label', 'color', 'length', 'length_unit', 'description', 'comments', 'tags'],
  rirs: ['name', 'slug', 'is_private', 'description', 'owner', 'tags'],
  'asn-ranges': ['name', 'slug', 'rir', 'start', 'end', 'tenant', 'description', 'owner', 'tags'],
  asns: ['asn', 'rir', 'tenant', 'description', 'owner', 'comments', 'tags'],
  prefixes: ['prefix', 'vrf', 'tenant', 'vlan_group', 'vlan_site', 'vlan', 'status', 'role', 'scope_type', 'scope_id', 'is_pool', 'mark_utilized', 'description', 'owner', 'comments', 'tags'],
  'ip-addresses': ['address', 'vrf', 'tenant', 'status', 'role', 'device', 'virtual_machine', 'interface', 'fhrp_group', 'is_primary', 'is_oob', 'dns_name', 'description', 'owner', 'comments', 'tags'],
};

describe('NetBox export and import', () => {
  test.each(FABRIC_EXAMPLES)('%s round-trips through the bulk-import files', (name) => {
    const text = readFileSync(join(EX, name), 'utf8');
    const original = parseFabricFile(text);
    const out = exportFabric(text);
    expect(Object.keys(out.files).sort()).toEqual(Object.values(FILES).sort());
    const back = netboxToFabric(readNetbox(filesOf(out)), profiles);
    expect(comparable(parseFabricFile(JSON.parse(JSON.stringify(back.file))))).toEqual(comparable(original));
    // NetBox's addresses and ASNs are exactly what intent allocates
    expect(back.allocations).toEqual(planFabric(text).allocations);
    // and the imported file, written as YAML, is a fabric file again
    expect(comparable(parseFabricFile(fabricYaml(back.file)))).toEqual(comparable(original));
    if (original.virtualNetworks?.length) expect(out.notes.join('\n')).toContain('not exported (no NetBox mapping yet): virtualNetworks, logicalRouters, servers, vpgs');
  });

  test('a base file brings back what NetBox does not hold', () => {
    const text = readFileSync(join(EX, 'dc1-frr-services.yaml'), 'utf8');
    const base = parseFabricFile(text);
    const back = netboxToFabric(readNetbox(filesOf(exportFabric(text))), profiles, { base });
    expect(back.file.fabric.credentials).toEqual(base.fabric.credentials);
    expect(back.file.virtualNetworks).toEqual(base.virtualNetworks);
    expect(parseFabricFile(fabricYaml(back.file)).vpgs).toEqual(base.vpgs);
    const bare = netboxToFabric(readNetbox(filesOf(exportFabric(text))), profiles);
    expect(bare.file.fabric.credentials.password).toBe('change-me');
    expect(bare.notes.join('\n')).toContain('credentials are placeholders');
  });

  test('every column is a NetBox import field, and no secret is exported', () => {
    const text = readFileSync(join(EX, 'dc1-junos.yaml'), 'utf8');
    const out = exportFabric(text);
    for (const [kind, cols] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, readonly string[]][]) {
      const head = out.files[FILES[kind]].split('\n')[0].split(',');
      expect(head).toEqual([...cols]);
      for (const c of head) expect([kind, NETBOX_FIELDS[kind].includes(c)]).toEqual([kind, true]);
    }
    const all = Object.values(out.files).join('\n');
    expect(all).not.toContain('s3cret');
    expect(all).not.toContain('fabric-ro');
    // device types: NetBox's YAML import, one document per type
    const types = out.files[FILES['device-types']].split(/^---\n/m).filter(Boolean).map((d) => load(d) as Record<string, unknown>);
    expect(types.map((t) => t.slug).sort()).toEqual(['juniper-qfx10002-36q', 'juniper-qfx5110-48s-4c', 'juniper-qfx5120-48y']);
    for (const t of types) expect(Object.keys(t).sort()).toEqual(['comments', 'manufacturer', 'model', 'slug', 'u_height']);
    // what a spine looks like
    const dev = parseCsv(out.files[FILES.devices], 'devices').find((r) => r.name === 'spine1')!;
    expect(dev).toMatchObject({ role: 'spine', manufacturer: 'juniper', serial: 'JN0001', site: 'dc1', status: 'planned', tags: 'route-reflector' });
    const ips = parseCsv(out.files[FILES['ip-addresses']], 'ips').filter((r) => r.device === 'spine1');
    expect(ips.find((r) => r.role === 'loopback')).toMatchObject({ interface: 'lo0', address: `${planFabric(text).allocations.loopbacks.spine1}/32` });
    expect(ips.filter((r) => r.address.endsWith('/31'))).toHaveLength(4);
  });

  test('a NetBox REST JSON dump imports as the same fabric', () => {
    const j = (results: unknown[]): string => JSON.stringify({ count: results.length, next: null, previous: null, results });
    const site = { id: 1, name: 'lab2', slug: 'lab2' };
    const dev = (id: number, name: string, role: string, serial: string, tags: string[], ip?: string) => ({
      id, name, serial, site, status: { value: 'active', label: 'Active' },
      role: { id: 9, name: role, slug: role }, device_type: { id: 3, model: 'frr-switch', slug: 'frr-switch', manufacturer: { name: 'frrouting' } },
      tags: tags.map((t) => ({ name: t, slug: t.toLowerCase() })), primary_ip4: ip ? { id: 50 + id, address: ip } : null,
    });
    const itf = (id: number, device: string, name: string) => ({ id, device: { id: 0, name }, name, mgmt_only: name === 'eth0', type: { value: 'other' } });
    const end = (device: string, name: string) => [{ object_type: 'dcim.interface', object_id: 1, object: { id: 1, device: { id: 1, name: device }, name } }];
    const files = new Map<string, string>([
      ['devices.json', j([dev(1, 'sp1', 'spine', 'S1', ['Route-Reflector'], '10.9.0.11/24'), dev(2, 'lf1', 'leaf', 'L1', ['CRB-Access']), dev(3, 'lf2', 'leaf', 'L2', ['CRB-Access'])])],
      ['interfaces.json', j([itf(1, 'sp1', 'swp1'), itf(2, 'sp1', 'swp2'), itf(3, 'lf1', 'swp51'), itf(4, 'lf2', 'swp51'), itf(5, 'sp1', 'eth0')])],
      ['cables.json', j([
        { id: 1, a_terminations: end('sp1', 'swp1'), b_terminations: end('lf1', 'swp51'), status: { value: 'connected' } },
        { id: 2, a_terminations: end('sp1', 'swp2'), b_terminations: end('lf2', 'swp51'), status: { value: 'connected' } },
        // a cable to a power outlet is not a link
        { id: 3, a_terminations: [{ object_type: 'dcim.powerport', object_id: 7, object: { id: 7, device: { name: 'sp1' }, name: 'PSU1' } }], b_terminations: end('lf2', 'swp51') },
      ])],
      ['prefixes.json', j([{ prefix: '10.9.0.0/24', description: 'fabric-ztp lab2 management gateway=10.9.0.1' }, { prefix: '10.255.9.0/24', description: 'fabric-ztp lab2 loopback pool' }, { prefix: '10.254.16.0/20', description: 'fabric-ztp lab2 p2p pool' }])],
      ['asn-ranges.json', j([{ name: 'u', start: 65001, end: 65099, description: 'fabric-ztp lab2 underlay ASN pool' }])],
      ['asns.json', j([{ asn: 65500, description: 'fabric-ztp lab2 overlay' }])],
    ]);
    const r = netboxToFabric(readNetbox(files), profiles);
    const f = parseFabricFile(JSON.parse(JSON.stringify(r.file)));
    expect(f.fabric.name).toBe('lab2');
    expect(f.fabric.namespaces).toEqual({ management: [{ cidr: '10.9.0.0/24', gateway: '10.9.0.1' }], loopback: ['10.255.9.0/24'], fabric: ['10.254.16.0/20'], asn: [{ min: 65001, max: 65099 }], overlayAsn: 65500 });
    expect(f.devices.map((d) => [d.name, d.physicalRole, d.roles.join(','), d.serial, d.managementIp ?? ''])).toEqual([
      ['sp1', 'spine', 'Route-Reflector', 'S1', '10.9.0.11'], ['lf1', 'leaf', 'CRB-Access', 'L1', ''], ['lf2', 'leaf', 'CRB-Access', 'L2', '']]);
    expect(f.links.map((l) => `${l.a.device}:${l.a.port}--${l.b.device}:${l.b.port}`)).toEqual(['sp1:swp1--lf1:swp51', 'sp1:swp2--lf2:swp51']);
    // and it plans: a fabric planned in NetBox can be onboarded
    expect(planFabric(r.file).plans).toHaveLength(3);
  });

  test('bad input: one line naming what and where', () => {
    const text = readFileSync(join(EX, 'dc1-frr.yaml'), 'utf8');
    const files = filesOf(exportFabric(text));
    const devs = files.get(FILES.devices)!.replace(',spine,', ',router,');
    expect(() => netboxToFabric(readNetbox(new Map([...files, [FILES.devices, devs]])), profiles)).toThrow('device spine1: role "router" is not one of leaf, spine, superspine, gateway');
    const types = files.get(FILES.devices)!.replace(/frr-switch/g, 'mystery-box');
    expect(() => netboxToFabric(readNetbox(new Map([...files, [FILES.devices, types], [FILES['device-types'], '']])), profiles)).toThrow('device spine1: device type "mystery-box" matches no node profile');
    const noMgmt = new Map([...files, [FILES.prefixes, toCsv(['prefix', 'description'], [])]]);
    expect(() => netboxToFabric(readNetbox(noMgmt), profiles)).toThrow('site dc1: no management prefix');
    expect(() => readNetbox(new Map([['devices.json', '{"results": 3}']]))).toThrow('devices.json: expected a list of objects');
    expect(() => parseCsv('a,b\n"x,1\n', 'f.csv')).toThrow('f.csv: line 3: a quoted field is not closed');
  });

  test('CSV: quotes, commas and line breaks survive', () => {
    const rows = [{ a: 'x,y', b: 'say "hi"' }, { a: 'two\nlines', b: '' }];
    expect(parseCsv(toCsv(['a', 'b'], rows), 't')).toEqual(rows);
  });
});
