// Fabric file -> NetBox bulk-import files (docs/interop.md), pure. The field names are those of
// NetBox's import forms (dcim/ipam/extras `*ImportForm` Meta.fields); files are numbered in the
// order NetBox needs them (a device needs its site, role, type and tags first; a cable its
// interfaces; an IP address its interface). Addresses and ASNs are the ones intent allocates
// (planFabric, in memory), so NetBox documents exactly what autoconfigure pushes.
//
// What NetBox has no field for is carried where an import can read it back: routing roles as
// tags (name = the role), the pools as prefixes and ASN ranges, the management gateway and the
// overlay AS in a `fabric-ztp ...` description. Credentials and SNMP secrets are never written.
import { dump } from 'js-yaml';
import { linkKey, type Allocations, type DevicePlan, type FabricFile, type NodeProfile } from '../../domain/types';
import { contains, parseCidr, parseIp } from '../../domain/ipv4';
import { factsOf, type PlatformDataSet } from '../../domain/platforms';
import { loadPlatforms, type ProfileSet } from '../../domain/profiles';
import { toCsv, type CsvRow } from './csv';

export const RIR = 'fabric-ztp-private';
export const TAG_DESCRIPTION = 'fabric-ztp routing role';

/** Column lists, exactly NetBox's import field names (checked by test/unit/interop-netbox.test.ts). */
export const COLUMNS = {
  sites: ['name', 'slug', 'status', 'description'],
  manufacturers: ['name', 'slug', 'description'],
  'device-roles': ['name', 'slug', 'color', 'description'],
  tags: ['name', 'slug', 'color', 'description'],
  devices: ['name', 'role', 'manufacturer', 'device_type', 'serial', 'status', 'site', 'tags', 'description'],
  interfaces: ['device', 'name', 'type', 'mgmt_only', 'description'],
  cables: ['side_a_device', 'side_a_type', 'side_a_name', 'side_b_device', 'side_b_type', 'side_b_name', 'status', 'description'],
  rirs: ['name', 'slug', 'is_private', 'description'],
  'asn-ranges': ['name', 'slug', 'rir', 'start', 'end', 'description'],
  asns: ['asn', 'rir', 'description'],
  prefixes: ['prefix', 'status', 'description'],
  'ip-addresses': ['address', 'status', 'role', 'device', 'interface', 'is_primary', 'description'],
} as const;

export type NetboxKind = keyof typeof COLUMNS | 'device-types';

/** File name of each kind, in import order. */
export const FILES: Record<NetboxKind, string> = {
  sites: '01-sites.csv', manufacturers: '02-manufacturers.csv', 'device-roles': '03-device-roles.csv', tags: '04-tags.csv',
  'device-types': '05-device-types.yaml', devices: '06-devices.csv', interfaces: '07-interfaces.csv', cables: '08-cables.csv',
  rirs: '09-rirs.csv', 'asn-ranges': '10-asn-ranges.csv', asns: '11-asns.csv', prefixes: '12-prefixes.csv', 'ip-addresses': '13-ip-addresses.csv',
};

const ROLE_COLORS: Record<string, string> = { spine: '2196f3', leaf: '4caf50', superspine: '9c27b0', gateway: 'ff9800' };

/** NetBox slugs: lower case letters, digits, dashes and underscores. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

/** The device type model a profile stands for in NetBox: its first model string, else its name. */
export function deviceTypeModel(p: NodeProfile): string { return p.models[0] ?? p.name; }

/** Per device, what a running service knows beyond the file (discovered address, state). */
export interface DeviceFacts { managementIp?: string; status?: 'planned' | 'active' | 'offline' | 'failed' }

export interface NetboxExport { files: Record<string, string>; notes: string[] }

/** `platforms`: the management and loopback interface names come from the platform facts. */
export function netboxExport(
  file: FabricFile, plans: DevicePlan[], allocations: Allocations, profiles: ProfileSet,
  facts: Map<string, DeviceFacts> = new Map(), platforms: PlatformDataSet = loadPlatforms(),
): NetboxExport {
  const f = file.fabric;
  const ns = f.namespaces;
  const notes: string[] = [];
  const plan = new Map(plans.map((p) => [p.name, p]));
  const used = [...new Set(file.devices.map((d) => d.profile))].map((n) => profiles[n]);
  const tags = [...new Set(file.devices.flatMap((d) => d.roles.filter((r) => r !== 'null')))];

  const sites: CsvRow[] = [{ name: f.name, slug: slug(f.name), status: 'active', description: `fabric-ztp fabric ${f.name}` }];
  const manufacturers: CsvRow[] = [...new Set(used.map((p) => p.vendor))].map((v) => ({ name: v, slug: slug(v), description: '' }));
  const roles: CsvRow[] = [...new Set(file.devices.map((d) => d.physicalRole))].map((r) => ({ name: r, slug: r, color: ROLE_COLORS[r] ?? '9e9e9e', description: `fabric-ztp physical role ${r}` }));
  const tagRows: CsvRow[] = tags.map((t) => ({ name: t, slug: slug(t), color: '607d8b', description: TAG_DESCRIPTION }));
  const deviceTypes = used.map((p) => ({ manufacturer: p.vendor, model: deviceTypeModel(p), slug: p.name, u_height: 1, comments: `fabric-ztp node profile ${p.name}` }));

  const devices: CsvRow[] = [];
  const interfaces: CsvRow[] = [];
  const ips: CsvRow[] = [];
  for (const d of file.devices) {
    const p = profiles[d.profile];
    const pl = plan.get(d.name)!;
    const fx = facts.get(d.name) ?? {};
    const status = fx.status ?? (d.managementIp ? 'active' : 'planned');
    devices.push({
      name: d.name, role: d.physicalRole, manufacturer: p.vendor, device_type: deviceTypeModel(p), serial: d.serial ?? '',
      status, site: f.name, tags: d.roles.filter((r) => r !== 'null').map(slug).join(','), description: '',
    });
    const { managementInterface: mgmt, loopbackInterface: lo } = factsOf(p, platforms);
    interfaces.push({ device: d.name, name: mgmt, type: '1000base-t', mgmt_only: 'true', description: 'management' });
    interfaces.push({ device: d.name, name: lo, type: 'virtual', mgmt_only: 'false', description: 'router ID, VTEP source' });
    for (const itf of pl.interfaces) interfaces.push({ device: d.name, name: itf.name, type: 'other', mgmt_only: 'false', description: itf.description });
    const mip = fx.managementIp ?? d.managementIp;
    if (mip) {
      const m = ns.management.find((s) => inCidr(mip, s.cidr));
      ips.push({ address: `${mip}/${m ? m.cidr.split('/')[1] : '32'}`, status: 'active', role: '', device: d.name, interface: mgmt, is_primary: 'true', description: 'fabric-ztp management' });
    }
    ips.push({ address: `${pl.loopback}/32`, status: 'active', role: 'loopback', device: d.name, interface: lo, is_primary: '', description: 'fabric-ztp loopback' });
    for (const itf of pl.interfaces) {
      if (itf.address) ips.push({ address: itf.address, status: 'active', role: '', device: d.name, interface: itf.name, is_primary: '', description: `fabric-ztp p2p ${itf.description}` });
    }
  }
  const cables: CsvRow[] = file.links.map((l) => ({
    side_a_device: l.a.device, side_a_type: 'dcim.interface', side_a_name: l.a.port,
    side_b_device: l.b.device, side_b_type: 'dcim.interface', side_b_name: l.b.port,
    status: 'connected', description: allocations.links[linkKey(l)] ? `fabric-ztp ${allocations.links[linkKey(l)]}` : 'fabric-ztp unaddressed',
  }));
  const rirs: CsvRow[] = [{ name: RIR, slug: RIR, is_private: 'true', description: 'private ASNs and addresses of fabric-ztp fabrics' }];
  const ranges: CsvRow[] = ns.asn.map((r, i) => ({ name: `${f.name}-asn-${i + 1}`, slug: slug(`${f.name}-asn-${i + 1}`), rir: RIR, start: String(r.min), end: String(r.max), description: `fabric-ztp ${f.name} underlay ASN pool` }));
  const asns: CsvRow[] = [];
  if (ns.overlayAsn !== undefined) asns.push({ asn: String(ns.overlayAsn), rir: RIR, description: `fabric-ztp ${f.name} overlay` });
  for (const d of file.devices) asns.push({ asn: String(allocations.asns[d.name]), rir: RIR, description: `fabric-ztp ${f.name} device ${d.name}` });
  const prefixes: CsvRow[] = [
    ...ns.management.map((m) => ({ prefix: m.cidr, status: 'active', description: `fabric-ztp ${f.name} management gateway=${m.gateway}` })),
    ...ns.loopback.map((c) => ({ prefix: c, status: 'container', description: `fabric-ztp ${f.name} loopback pool` })),
    ...ns.fabric.map((c) => ({ prefix: c, status: 'container', description: `fabric-ztp ${f.name} p2p pool` })),
  ];
  const services = ['virtualNetworks', 'logicalRouters', 'servers', 'vpgs'].filter((k) => ((file as unknown as Record<string, unknown[] | undefined>)[k] ?? []).length > 0);
  if (services.length) notes.push(`not exported (no NetBox mapping yet): ${services.join(', ')}`);
  notes.push('not exported: credentials, SNMP settings, fabric settings (secrets and service-only data)');

  const out: Record<string, string> = {
    [FILES.sites]: toCsv(COLUMNS.sites, sites),
    [FILES.manufacturers]: toCsv(COLUMNS.manufacturers, manufacturers),
    [FILES['device-roles']]: toCsv(COLUMNS['device-roles'], roles),
    [FILES.tags]: toCsv(COLUMNS.tags, tagRows),
    // NetBox's YAML import takes several documents in one text
    [FILES['device-types']]: deviceTypes.map((t) => `---\n${dump(t, { lineWidth: -1 })}`).join(''),
    [FILES.devices]: toCsv(COLUMNS.devices, devices),
    [FILES.interfaces]: toCsv(COLUMNS.interfaces, interfaces),
    [FILES.cables]: toCsv(COLUMNS.cables, cables),
    [FILES.rirs]: toCsv(COLUMNS.rirs, rirs),
    [FILES['asn-ranges']]: toCsv(COLUMNS['asn-ranges'], ranges),
    [FILES.asns]: toCsv(COLUMNS.asns, asns),
    [FILES.prefixes]: toCsv(COLUMNS.prefixes, prefixes),
    [FILES['ip-addresses']]: toCsv(COLUMNS['ip-addresses'], ips),
  };
  return { files: out, notes };
}

function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  const n = parseIp(ip);
  return c.ok && n !== undefined && contains(c.cidr, n);
}
