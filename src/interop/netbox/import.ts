// NetBox -> fabric file (docs/interop.md), pure: the bulk-import files `fabric export netbox`
// writes (CSV + the device types' YAML), or NetBox REST JSON dumps (`GET /api/dcim/devices/`
// ... saved as devices.json, with or without the {count, results} envelope), normalised to one
// model, then mapped back: the site is the fabric, devices by role / device type / tags,
// cables between the fabric's interfaces are its links, the pools come from the prefixes and
// ASN ranges, and the addresses and ASNs NetBox holds become an allocations record (so a
// render or onboarding keeps NetBox's numbering instead of allocating afresh).
import { loadAll } from 'js-yaml';
import { PHYSICAL_ROLES, ROUTING_ROLES, type Allocations, type DeviceSpec, type FabricFile, type LinkSpec, type Namespaces, type PhysicalRole } from '../../domain/types';
import { linkKey } from '../../domain/types';
import { parseIp } from '../../domain/ipv4';
import { profileForModel, type ProfileSet } from '../../domain/profiles';
import { parseCsv, type CsvRow } from './csv';
import { slug } from './export';

export class NetboxImportError extends Error {}

export interface NbDevice { name: string; role: string; model: string; typeSlug?: string; serial: string; site: string; tags: string[]; primaryIp?: string }
export interface NbInterface { device: string; name: string; mgmtOnly: boolean }
export interface NbEnd { device: string; name: string }
export interface NbIp { address: string; device?: string; interface?: string; role?: string; description: string; isPrimary: boolean }
export interface NbData {
  sites: string[];
  deviceTypes: { model: string; slug: string }[];
  /** tag slug -> name */
  tags: Map<string, string>;
  devices: NbDevice[];
  interfaces: NbInterface[];
  cables: { a: NbEnd; b: NbEnd }[];
  ips: NbIp[];
  prefixes: { prefix: string; description: string }[];
  asns: { asn: number; description: string }[];
  asnRanges: { start: number; end: number; description: string }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A REST field that is a nested object ({name}, {value}, {address} ...) or a plain value. */
const str = (v: unknown, ...keys: string[]): string => {
  if (v === null || v === undefined) return '';
  if (!isObj(v)) return String(v);
  for (const k of keys) if (v[k] !== undefined && v[k] !== null) return String(v[k]);
  return '';
};
const truthy = (v: string): boolean => /^(true|1|yes)$/i.test(v);

/** The file of one kind in a listing: `NN-<kind>.<ext>` or `<kind>.<ext>`. */
function pick(files: Map<string, string>, kind: string, exts: string[]): [string, string] | undefined {
  for (const [name, text] of files) {
    const m = /^(?:\d+-)?([a-z-]+)\.([a-z]+)$/.exec(name);
    if (m && m[1] === kind && exts.includes(m[2])) return [name, text];
  }
  return undefined;
}

/** Rows of a kind: CSV rows, or REST objects (an array, or NetBox's {results: [...]} page). */
function rows(files: Map<string, string>, kind: string): { csv?: CsvRow[]; json?: Obj[]; file?: string } {
  const f = pick(files, kind, ['csv', 'json']);
  if (!f) return {};
  if (f[0].endsWith('.csv')) return { csv: parseCsv(f[1], f[0]), file: f[0] };
  let doc: unknown;
  try { doc = JSON.parse(f[1]); } catch (e) { throw new NetboxImportError(`${f[0]}: not JSON: ${(e as Error).message}`); }
  const list = Array.isArray(doc) ? doc : isObj(doc) && Array.isArray(doc.results) ? doc.results : undefined;
  if (!list) throw new NetboxImportError(`${f[0]}: expected a list of objects or NetBox's {results: [...]}`);
  return { json: list.filter(isObj), file: f[0] };
}

/** Every file of a directory listing (name -> text), normalised. Unknown files are ignored. */
export function readNetbox(files: Map<string, string>): NbData {
  const d: NbData = { sites: [], deviceTypes: [], tags: new Map(), devices: [], interfaces: [], cables: [], ips: [], prefixes: [], asns: [], asnRanges: [] };
  const s = rows(files, 'sites');
  d.sites = (s.csv ?? []).map((r) => r.name).concat((s.json ?? []).map((o) => str(o.name)));
  const t = rows(files, 'tags');
  for (const r of t.csv ?? []) d.tags.set(r.slug || slug(r.name), r.name);
  for (const o of t.json ?? []) d.tags.set(str(o.slug), str(o.name));
  const dtYaml = pick(files, 'device-types', ['yaml', 'yml']);
  if (dtYaml) {
    let docs: unknown[];
    try { docs = loadAll(dtYaml[1]); } catch (e) { throw new NetboxImportError(`${dtYaml[0]}: not YAML: ${(e as Error).message.split('\n')[0]}`); }
    for (const doc of docs.filter(isObj)) d.deviceTypes.push({ model: str(doc.model), slug: str(doc.slug) });
  }
  const dt = rows(files, 'device-types');
  for (const r of dt.csv ?? []) d.deviceTypes.push({ model: r.model, slug: r.slug });
  for (const o of dt.json ?? []) d.deviceTypes.push({ model: str(o.model), slug: str(o.slug) });

  const dev = rows(files, 'devices');
  for (const [i, r] of (dev.csv ?? []).entries()) {
    if (!r.name) throw new NetboxImportError(`${dev.file} row ${i + 1}: a device without a name`);
    d.devices.push({ name: r.name, role: r.role, model: r.device_type, serial: r.serial ?? '', site: r.site, tags: (r.tags ?? '').split(',').map((x) => x.trim()).filter(Boolean) });
  }
  for (const o of dev.json ?? []) {
    const type = isObj(o.device_type) ? o.device_type : {};
    d.devices.push({
      name: str(o.name), role: str(o.role ?? o.device_role, 'slug', 'name'), model: str(type.model), typeSlug: str(type.slug) || undefined,
      serial: str(o.serial), site: str(o.site, 'name'), tags: Array.isArray(o.tags) ? o.tags.map((x) => str(x, 'slug', 'name')) : [],
      primaryIp: str(o.primary_ip4, 'address') || undefined,
    });
  }
  const itf = rows(files, 'interfaces');
  for (const r of itf.csv ?? []) d.interfaces.push({ device: r.device, name: r.name, mgmtOnly: truthy(r.mgmt_only ?? '') });
  for (const o of itf.json ?? []) d.interfaces.push({ device: str(o.device, 'name'), name: str(o.name), mgmtOnly: o.mgmt_only === true });

  const cab = rows(files, 'cables');
  for (const r of cab.csv ?? []) {
    if (r.side_a_type && r.side_a_type !== 'dcim.interface') continue;
    if (r.side_b_type && r.side_b_type !== 'dcim.interface') continue;
    d.cables.push({ a: { device: r.side_a_device, name: r.side_a_name }, b: { device: r.side_b_device, name: r.side_b_name } });
  }
  for (const o of cab.json ?? []) {
    const end = (v: unknown): NbEnd | undefined => {
      const list = Array.isArray(v) ? v.filter(isObj) : [];
      if (list.length !== 1 || str(list[0].object_type) !== 'dcim.interface' || !isObj(list[0].object)) return undefined;
      return { device: str(list[0].object.device, 'name'), name: str(list[0].object.name) };
    };
    const a = end(o.a_terminations);
    const b = end(o.b_terminations);
    if (a && b) d.cables.push({ a, b });
  }
  const ip = rows(files, 'ip-addresses');
  for (const r of ip.csv ?? []) d.ips.push({ address: r.address, device: r.device || undefined, interface: r.interface || undefined, role: r.role || undefined, description: r.description ?? '', isPrimary: truthy(r.is_primary ?? '') });
  for (const o of ip.json ?? []) {
    const obj = isObj(o.assigned_object) ? o.assigned_object : undefined;
    d.ips.push({
      address: str(o.address), device: obj ? str(obj.device, 'name') || undefined : undefined, interface: obj ? str(obj.name) || undefined : undefined,
      role: str(o.role, 'value') || undefined, description: str(o.description), isPrimary: false,
    });
  }
  const pf = rows(files, 'prefixes');
  d.prefixes = (pf.csv ?? []).map((r) => ({ prefix: r.prefix, description: r.description ?? '' }))
    .concat((pf.json ?? []).map((o) => ({ prefix: str(o.prefix), description: str(o.description) })));
  const asn = rows(files, 'asns');
  d.asns = (asn.csv ?? []).map((r) => ({ asn: Number(r.asn), description: r.description ?? '' }))
    .concat((asn.json ?? []).map((o) => ({ asn: Number(str(o.asn)), description: str(o.description) })));
  const ar = rows(files, 'asn-ranges');
  d.asnRanges = (ar.csv ?? []).map((r) => ({ start: Number(r.start), end: Number(r.end), description: r.description ?? '' }))
    .concat((ar.json ?? []).map((o) => ({ start: Number(str(o.start)), end: Number(str(o.end)), description: str(o.description) })));
  return d;
}

export interface NetboxImport { file: FabricFile; allocations: Allocations; notes: string[] }

/** The fabric of one site. `base` supplies what NetBox does not hold (credentials, SNMP, settings, services). */
export function netboxToFabric(d: NbData, profiles: ProfileSet, o: { site?: string; base?: FabricFile } = {}): NetboxImport {
  const notes: string[] = [];
  const sites = [...new Set(d.devices.map((x) => x.site).filter(Boolean))];
  const site = o.site ?? (sites.length === 1 ? sites[0] : undefined);
  if (!site) throw new NetboxImportError(sites.length ? `devices of ${sites.length} sites (${sites.join(', ')}): name the fabric's with --site` : 'no device with a site');
  const mine = (desc: string, what: string): RegExpExecArray | null => new RegExp(`^fabric-ztp ${escapeRe(site)} ${what}`).exec(desc);

  const management = d.prefixes.flatMap((p) => {
    const m = mine(p.description, 'management gateway=(\\S+)');
    return m ? [{ cidr: p.prefix, gateway: m[1] }] : [];
  });
  if (!management.length) throw new NetboxImportError(`site ${site}: no management prefix (a prefix described "fabric-ztp ${site} management gateway=A.B.C.D")`);
  const namespaces: Namespaces = {
    management,
    loopback: d.prefixes.filter((p) => mine(p.description, 'loopback pool')).map((p) => p.prefix),
    fabric: d.prefixes.filter((p) => mine(p.description, 'p2p pool')).map((p) => p.prefix),
    asn: d.asnRanges.filter((r) => mine(r.description, 'underlay ASN pool')).map((r) => ({ min: r.start, max: r.end })),
  };
  const overlay = d.asns.find((a) => mine(a.description, 'overlay$'));
  if (overlay) namespaces.overlayAsn = overlay.asn;

  const typeSlug = new Map(d.deviceTypes.map((t) => [t.model, t.slug]));
  const tagName = (s: string): string => d.tags.get(s) ?? ROUTING_ROLES.find((r) => slug(r) === s.toLowerCase()) ?? s;
  const ips = (dev: string): NbIp[] => d.ips.filter((i) => i.device === dev);
  const mgmtIfaces = new Set(d.interfaces.filter((i) => i.mgmtOnly).map((i) => `${i.device}\u0001${i.name}`));
  const devices: DeviceSpec[] = [];
  for (const x of d.devices.filter((v) => v.site === site)) {
    const role = x.role.toLowerCase();
    if (!PHYSICAL_ROLES.includes(role as PhysicalRole)) throw new NetboxImportError(`device ${x.name}: role "${x.role}" is not one of ${PHYSICAL_ROLES.join(', ')}`);
    const sl = x.typeSlug ?? typeSlug.get(x.model);
    const profile = sl && Object.hasOwn(profiles, sl) ? profiles[sl] : profileForModel(x.model, profiles);
    if (!profile) throw new NetboxImportError(`device ${x.name}: device type "${x.model}" matches no node profile (node-profiles/*.yaml)`);
    const roles = x.tags.map(tagName).filter((t) => (ROUTING_ROLES as readonly string[]).includes(t));
    const spec: DeviceSpec = { name: x.name, ...(x.serial ? { serial: x.serial } : {}), profile: profile.name, physicalRole: role as PhysicalRole, roles };
    const mip = x.primaryIp ?? ips(x.name).find((i) => i.isPrimary || (i.interface && mgmtIfaces.has(`${x.name}\u0001${i.interface}`)))?.address;
    if (mip) spec.managementIp = mip.split('/')[0];
    devices.push(spec);
  }
  if (!devices.length) throw new NetboxImportError(`site ${site}: no devices`);
  const names = new Set(devices.map((v) => v.name));
  const links: LinkSpec[] = [];
  let skipped = 0;
  for (const c of d.cables) {
    if (!names.has(c.a.device) || !names.has(c.b.device)) { skipped++; continue; }
    links.push({ a: { device: c.a.device, port: c.a.name }, b: { device: c.b.device, port: c.b.name } });
  }
  if (skipped) notes.push(`${skipped} cable(s) to devices outside site ${site} left out`);

  // NetBox's numbering as an allocations record: loopbacks, device ASNs, the links' /31s
  const allocations: Allocations = { loopbacks: {}, asns: {}, links: {} };
  for (const v of devices) {
    const lo = ips(v.name).find((i) => i.role === 'loopback');
    if (lo) allocations.loopbacks[v.name] = lo.address.split('/')[0];
    const a = d.asns.find((x) => mine(x.description, `device ${escapeRe(v.name)}$`));
    if (a) allocations.asns[v.name] = a.asn;
  }
  for (const l of links) {
    const ipA = ips(l.a.device).find((i) => i.interface === l.a.port && i.address.endsWith('/31'));
    const ipB = ips(l.b.device).find((i) => i.interface === l.b.port && i.address.endsWith('/31'));
    const lower = [ipA, ipB].filter((i): i is NbIp => !!i).map((i) => i.address.split('/')[0]).sort(byIp)[0];
    if (lower) allocations.links[linkKey(l)] = `${lower}/31`;
  }

  const base = o.base;
  if (!base) notes.push('credentials are placeholders (NetBox holds none): set fabric.credentials (and snmp) before onboarding');
  const file: FabricFile = {
    fabric: {
      name: site,
      credentials: base?.fabric.credentials ?? { username: 'admin', password: 'change-me' },
      ...(base?.fabric.snmp ? { snmp: base.fabric.snmp } : {}),
      namespaces,
      ...(base?.fabric.settings ? { settings: base.fabric.settings } : {}),
    },
    devices, links,
    ...(base?.virtualNetworks ? { virtualNetworks: base.virtualNetworks } : {}),
    ...(base?.logicalRouters ? { logicalRouters: base.logicalRouters } : {}),
    ...(base?.servers ? { servers: base.servers } : {}),
    ...(base?.vpgs ? { vpgs: base.vpgs } : {}),
  };
  return { file, allocations, notes };
}

function escapeRe(s: string): string { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
function byIp(a: string, b: string): number { return (parseIp(a) ?? 0) - (parseIp(b) ?? 0); }
