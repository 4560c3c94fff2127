// Fabric file parsing: YAML text (or the same object as JSON) -> FabricFile with defaults.
// Structural problems (missing fields, wrong types, malformed link ends) are reported here;
// cross-object rules (pools, profiles, roles, ports) live in validate.ts.
import { load as loadYaml } from 'js-yaml';
import { FabricError } from './errors';
import { CONTROL_CHARS, HOST_PATTERN, NAME_PATTERN, OS_VERSION_PATTERN } from './schema';
import { parseServices } from './services';
import {
  AsnRange, DeviceSpec, FabricFile, FabricSettings, FabricSpec, LinkEnd, LinkSpec,
  ManagementSubnet, Namespaces, PHYSICAL_ROLES, PhysicalRole, SnmpSettings,
} from './types';

export const DEFAULT_SETTINGS: Readonly<FabricSettings> = Object.freeze({
  mtu: 9216,
  bfd: Object.freeze({ intervalMs: 300, multiplier: 3 }) as FabricSettings['bfd'],
  gracefulRestart: true,
  ntp: [] as string[],
  syslog: [] as string[],
  dns: [] as string[],
});

type Obj = Record<string, unknown>;

/** No string of the file is longer (the schema's limits are tighter per field). */
const MAX_STRING = 1024;
const HOST_RE = new RegExp(HOST_PATTERN);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, what: string): never {
  throw new FabricError(path, `${path}: ${what}`);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, `expected a mapping, got ${describe(v)}`);
  return v;
}

function onlyKeys(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(path ? `${path}.${k}` : k, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, `expected a non-empty string, got ${describe(v)}`);
  // Strings reach device templates: a newline there would inject configuration.
  if (CONTROL_CHARS.test(v)) fail(path, 'contains a control character (newline, tab, ...): not allowed');
  if (v.length > MAX_STRING) fail(path, `longer than ${MAX_STRING} characters`);
  return v;
}

/** Hosts (NTP, syslog, DNS): an IPv4 address or a DNS name, nothing a template could misread. */
function hostList(v: unknown, path: string): string[] {
  const out = strList(v, path);
  out.forEach((h, i) => { if (!HOST_RE.test(h)) fail(`${path}[${i}]`, `"${h}" is not an IPv4 address or a host name`); });
  return out;
}

function optStr(v: unknown, path: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, path);
}

function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `expected an integer, got ${describe(v)}`);
  return v;
}

function list(v: unknown, path: string, dflt = true): unknown[] {
  if ((v === undefined || v === null) && dflt) return [];
  if (!Array.isArray(v)) fail(path, `expected a list, got ${describe(v)}`);
  return v;
}

function strList(v: unknown, path: string): string[] {
  return list(v, path).map((x, i) => str(x, `${path}[${i}]`));
}

function parseSnmp(v: unknown, path: string): SnmpSettings | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, path);
  if ('community' in o) {
    onlyKeys(o, path, ['community']);
    return { community: str(o.community, `${path}.community`) };
  }
  if ('v3' in o) {
    onlyKeys(o, path, ['v3']);
    const v3 = obj(o.v3, `${path}.v3`);
    onlyKeys(v3, `${path}.v3`, ['user', 'authKey', 'privKey']);
    return {
      v3: {
        user: str(v3.user, `${path}.v3.user`),
        authKey: str(v3.authKey, `${path}.v3.authKey`),
        privKey: str(v3.privKey, `${path}.v3.privKey`),
      },
    };
  }
  return fail(path, 'expected {community} or {v3: {user, authKey, privKey}}');
}

function parseNamespaces(v: unknown, path: string): Namespaces {
  const o = obj(v, path);
  onlyKeys(o, path, ['management', 'loopback', 'fabric', 'asn', 'overlayAsn']);
  const management: ManagementSubnet[] = list(o.management, `${path}.management`).map((m, i) => {
    const p = `${path}.management[${i}]`;
    const mo = obj(m, p);
    onlyKeys(mo, p, ['cidr', 'gateway']);
    return { cidr: str(mo.cidr, `${p}.cidr`), gateway: str(mo.gateway, `${p}.gateway`) };
  });
  const asn: AsnRange[] = list(o.asn, `${path}.asn`).map((r, i) => {
    const p = `${path}.asn[${i}]`;
    const ro = obj(r, p);
    onlyKeys(ro, p, ['min', 'max']);
    return { min: int(ro.min, `${p}.min`), max: int(ro.max, `${p}.max`) };
  });
  const ns: Namespaces = {
    management,
    loopback: strList(o.loopback, `${path}.loopback`),
    fabric: strList(o.fabric, `${path}.fabric`),
    asn,
  };
  if (o.overlayAsn !== undefined && o.overlayAsn !== null) ns.overlayAsn = int(o.overlayAsn, `${path}.overlayAsn`);
  return ns;
}

/** Fill every settings field with its default; checks types and sane ranges. */
export function resolveSettings(v: unknown, path = 'fabric.settings'): FabricSettings {
  if (v === undefined || v === null) {
    return { ...DEFAULT_SETTINGS, bfd: { ...DEFAULT_SETTINGS.bfd }, ntp: [], syslog: [], dns: [] };
  }
  const o = obj(v, path);
  onlyKeys(o, path, ['mtu', 'bfd', 'gracefulRestart', 'ntp', 'syslog', 'dns', 'osVersions']);
  const mtu = o.mtu === undefined ? DEFAULT_SETTINGS.mtu : int(o.mtu, `${path}.mtu`);
  if (mtu < 1280 || mtu > 65535) fail(`${path}.mtu`, `${mtu} is outside 1280..65535`);
  let bfd = { ...DEFAULT_SETTINGS.bfd };
  if (o.bfd !== undefined) {
    const b = obj(o.bfd, `${path}.bfd`);
    onlyKeys(b, `${path}.bfd`, ['intervalMs', 'multiplier']);
    if (b.intervalMs !== undefined) bfd.intervalMs = int(b.intervalMs, `${path}.bfd.intervalMs`);
    if (b.multiplier !== undefined) bfd.multiplier = int(b.multiplier, `${path}.bfd.multiplier`);
    // intervalMs 0 turns BFD off; otherwise FRR and Junos accept 10..60000 ms.
    if (bfd.intervalMs !== 0 && (bfd.intervalMs < 10 || bfd.intervalMs > 60000)) {
      fail(`${path}.bfd.intervalMs`, `${bfd.intervalMs} is outside 10..60000 (0 disables BFD)`);
    }
    if (bfd.multiplier < 1 || bfd.multiplier > 255) fail(`${path}.bfd.multiplier`, `${bfd.multiplier} is outside 1..255`);
  }
  let gracefulRestart = DEFAULT_SETTINGS.gracefulRestart;
  if (o.gracefulRestart !== undefined) {
    if (typeof o.gracefulRestart !== 'boolean') fail(`${path}.gracefulRestart`, `expected true or false, got ${describe(o.gracefulRestart)}`);
    gracefulRestart = o.gracefulRestart;
  }
  return {
    mtu, bfd, gracefulRestart,
    ntp: hostList(o.ntp, `${path}.ntp`),
    syslog: hostList(o.syslog, `${path}.syslog`),
    dns: hostList(o.dns, `${path}.dns`),
    ...(o.osVersions !== undefined && o.osVersions !== null ? { osVersions: parseOsVersions(o.osVersions, `${path}.osVersions`) } : {}),
  };
}

const PROFILE_RE = new RegExp(NAME_PATTERN);
const VERSION_RE = new RegExp(OS_VERSION_PATTERN);

/** `{profile: version}`: both sides checked (the version reaches a device RPC, the profile a lookup). */
function parseOsVersions(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path);
  const entries = Object.entries(o);
  if (entries.length > 256) fail(path, `${entries.length} profiles; at most 256`);
  const out: Record<string, string> = {};
  for (const [profile, version] of entries) {
    if (!PROFILE_RE.test(profile)) fail(`${path}.${profile}`, 'is not a node profile name (letters, digits, "_", ".", "-"; up to 63)');
    if (typeof version !== 'string' || !VERSION_RE.test(version)) {
      fail(`${path}.${profile}`, `expected a version of [A-Za-z0-9._+-] (1-64, starting with a letter or digit), got ${describe(version)}`);
    }
    out[profile] = version;
  }
  return out;
}

function parseFabricSpec(v: unknown): FabricSpec {
  const o = obj(v, 'fabric');
  onlyKeys(o, 'fabric', ['name', 'credentials', 'snmp', 'namespaces', 'settings']);
  const cred = obj(o.credentials, 'fabric.credentials');
  onlyKeys(cred, 'fabric.credentials', ['username', 'password']);
  const spec: FabricSpec = {
    name: str(o.name, 'fabric.name'),
    credentials: {
      username: str(cred.username, 'fabric.credentials.username'),
      password: str(cred.password, 'fabric.credentials.password'),
    },
    namespaces: parseNamespaces(o.namespaces, 'fabric.namespaces'),
    settings: resolveSettings(o.settings),
  };
  const snmp = parseSnmp(o.snmp, 'fabric.snmp');
  if (snmp) spec.snmp = snmp;
  return spec;
}

const DEVICE_KEYS = ['name', 'serial', 'profile', 'physicalRole', 'roles', 'managementIp', 'model'] as const;

function parseDevice(v: unknown, i: number): DeviceSpec {
  const p = `devices[${i}]`;
  const o = obj(v, p);
  onlyKeys(o, p, DEVICE_KEYS);
  const physicalRole = str(o.physicalRole, `${p}.physicalRole`);
  if (!PHYSICAL_ROLES.includes(physicalRole as PhysicalRole)) {
    fail(`${p}.physicalRole`, `unknown physical role "${physicalRole}" (known: ${PHYSICAL_ROLES.join(', ')})`);
  }
  // YAML reads a bare `null` list item as null: that is the lean role name "null".
  const roles = list(o.roles, `${p}.roles`).map((r, j) => (r === null ? 'null' : str(r, `${p}.roles[${j}]`)));
  const d: DeviceSpec = {
    name: str(o.name, `${p}.name`),
    profile: str(o.profile, `${p}.profile`),
    physicalRole: physicalRole as PhysicalRole,
    roles,
  };
  // Serials read as numbers by YAML (e.g. 1234) are still serials.
  if (o.serial !== undefined && o.serial !== null) d.serial = typeof o.serial === 'number' ? String(o.serial) : str(o.serial, `${p}.serial`);
  const mgmt = optStr(o.managementIp, `${p}.managementIp`);
  if (mgmt !== undefined) d.managementIp = mgmt;
  const model = optStr(o.model, `${p}.model`);
  if (model !== undefined) d.model = model;
  return d;
}

/** `spine1:swp1` -> {device: spine1, port: swp1}; split at the first ':'. */
export function parseLinkEnd(v: unknown, path: string): LinkEnd {
  if (isObj(v)) {
    onlyKeys(v, path, ['device', 'port']);
    return { device: str(v.device, `${path}.device`), port: str(v.port, `${path}.port`) };
  }
  if (typeof v !== 'string') fail(path, `expected "device:port", got ${describe(v)}`);
  const colon = v.indexOf(':');
  if (colon <= 0 || colon === v.length - 1) fail(path, `"${v}" is not "device:port"`);
  return { device: v.slice(0, colon), port: v.slice(colon + 1) };
}

function parseLink(v: unknown, i: number): LinkSpec {
  const p = `links[${i}]`;
  if (Array.isArray(v)) {
    if (v.length !== 2) fail(p, `expected two ends [device:port, device:port], got ${v.length}`);
    return { a: parseLinkEnd(v[0], `${p}.a`), b: parseLinkEnd(v[1], `${p}.b`) };
  }
  if (isObj(v)) {
    onlyKeys(v, p, ['a', 'b']);
    return { a: parseLinkEnd(v.a, `${p}.a`), b: parseLinkEnd(v.b, `${p}.b`) };
  }
  return fail(p, `expected [device:port, device:port], got ${describe(v)}`);
}

/**
 * YAML text -> plain data. js-yaml (YAML 1.2 core schema: `yes`/`no` stay strings, duplicate
 * keys are errors) because it parses large generated files ~10x faster than `yaml`; JSON
 * text (a valid YAML subset) takes the even faster JSON.parse.
 */
function decodeText(text: string): unknown {
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try { return JSON.parse(text); } catch { /* not strict JSON: read it as YAML below */ }
  }
  try {
    return loadYaml(text, { filename: 'fabric file' });
  } catch (e) {
    const msg = ((e as { reason?: string }).reason ?? (e as Error).message).split('\n')[0];
    const mark = (e as { mark?: { line: number; column: number } }).mark;
    const where = mark ? ` (line ${mark.line + 1}, column ${mark.column + 1})` : '';
    throw new FabricError('', `fabric file is not valid YAML: ${msg}${where}`);
  }
}

const TOP_KEYS = ['fabric', 'devices', 'links', 'virtualNetworks', 'logicalRouters', 'servers', 'vpgs'] as const;

/**
 * Parse a fabric file. Text is YAML (JSON is valid YAML); an object is taken as already
 * decoded JSON. Returns a fresh FabricFile with settings defaults applied; throws FabricError.
 */
export function parseFabricFile(input: string | object): FabricFile {
  let doc: unknown = input;
  if (typeof input === 'string') doc = decodeText(input);
  const o = obj(doc, '(fabric file)');
  onlyKeys(o, '', TOP_KEYS);
  if (o.fabric === undefined) fail('fabric', 'missing (the fabric file needs a `fabric:` section)');
  const file: FabricFile = {
    fabric: parseFabricSpec(o.fabric),
    devices: list(o.devices, 'devices').map(parseDevice),
    links: list(o.links, 'links').map(parseLink),
  };
  for (const k of ['virtualNetworks', 'logicalRouters', 'servers', 'vpgs'] as const) {
    if (o[k] !== undefined && o[k] !== null) (file as unknown as Obj)[k] = list(o[k], k);
  }
  // Overlay services: structure checked and normalised in services.ts.
  parseServices(file);
  return file;
}

/** The settings of a parsed file with every default filled in. */
export function settingsOf(file: FabricFile): FabricSettings {
  const s = file.fabric.settings;
  if (s && s.mtu !== undefined && s.bfd && s.gracefulRestart !== undefined && s.ntp && s.syslog && s.dns) {
    return s as FabricSettings;
  }
  return resolveSettings(s);
}
