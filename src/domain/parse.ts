// Fabric file parsing: YAML text (or the same object as JSON) -> FabricFile with defaults.
// Structural problems (missing fields, wrong types, malformed link ends) are the schema's
// (schema.ts, phrased by schema-errors.ts); cross-object rules (pools, profiles, roles,
// ports) live in validate.ts and services.ts.
import { load as loadYaml } from 'js-yaml';
import { FabricError } from './errors';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { FabricFile as FabricFileSchema, NAMED_SCHEMAS, Settings as SettingsSchema } from './schema';
import { checkSchema, describe } from './schema-errors';
import { parseServices } from './services';
import { DeviceSpec, FabricFile, FabricSettings, FabricSpec, LinkEnd, LinkSpec, PhysicalRole } from './types';

/** The defaults the schema declares (one place: docs and editors show the same values). */
const SP = SettingsSchema.properties;
export const DEFAULT_SETTINGS: Readonly<FabricSettings> = Object.freeze({
  mtu: SP.mtu.default as number,
  bfd: Object.freeze({ intervalMs: SP.bfd.properties.intervalMs.default as number, multiplier: SP.bfd.properties.multiplier.default as number }) as FabricSettings['bfd'],
  gracefulRestart: SP.gracefulRestart.default as boolean,
  ntp: [] as string[],
  syslog: [] as string[],
  dns: [] as string[],
});

type Obj = Record<string, unknown>;

// The structure (types, required keys, sizes, character rules) is checked by the one schema;
// this module turns a checked file into the parsed form (defaults, link ends split).
const CHECK_FILE = TypeCompiler.Compile(FabricFileSchema, NAMED_SCHEMAS);
const CHECK_SETTINGS = TypeCompiler.Compile(SettingsSchema);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, what: string): never {
  throw new FabricError(path, `${path}: ${what}`);
}


/**
 * YAML writes an empty key as null (`devices:`): an absent optional value, as before the
 * schema. Items of lists keep their nulls (`roles: [null]` is the lean role).
 */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (isObj(x) || Array.isArray(x) ? dropNulls(x) : x));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
  return out;
}

/** Fill every settings field with its default; checks types and sane ranges. */
export function resolveSettings(v: unknown, path = 'fabric.settings'): FabricSettings {
  if (v === undefined || v === null) {
    return { ...DEFAULT_SETTINGS, bfd: { ...DEFAULT_SETTINGS.bfd }, ntp: [], syslog: [], dns: [] };
  }
  const o = dropNulls(v);
  checkSchema(CHECK_SETTINGS, o, `/${path.split('.').join('/')}`, {});
  const s = o as Partial<FabricSettings>;
  const bfd = { ...DEFAULT_SETTINGS.bfd, ...(s.bfd ?? {}) };
  // intervalMs 0 turns BFD off; otherwise FRR and Junos accept 10..60000 ms (a rule across
  // two values, so code rather than schema).
  if (bfd.intervalMs !== 0 && bfd.intervalMs < 10) fail(`${path}.bfd.intervalMs`, `${bfd.intervalMs} is outside 10..60000 (0 disables BFD)`);
  return {
    mtu: s.mtu ?? DEFAULT_SETTINGS.mtu,
    bfd,
    gracefulRestart: s.gracefulRestart ?? DEFAULT_SETTINGS.gracefulRestart,
    ntp: [...(s.ntp ?? [])], syslog: [...(s.syslog ?? [])], dns: [...(s.dns ?? [])],
    ...(s.osVersions ? { osVersions: { ...s.osVersions } } : {}),
    ...(s.brownfield ? { brownfield: { ...s.brownfield } } : {}),
  };
}

/** `spine1:swp1` -> {device: spine1, port: swp1}; split at the first ':'. */
export function parseLinkEnd(v: unknown, path: string): LinkEnd {
  if (isObj(v)) return { device: String(v.device), port: String(v.port) };
  if (typeof v !== 'string') fail(path, `expected "device:port", got ${describe(v)}`);
  const colon = v.indexOf(':');
  if (colon <= 0 || colon === v.length - 1) fail(path, `"${v}" is not "device:port"`);
  return { device: v.slice(0, colon), port: v.slice(colon + 1) };
}

function toLink(v: unknown, i: number): LinkSpec {
  const p = `links[${i}]`;
  const [a, b] = Array.isArray(v) ? v : [(v as Obj).a, (v as Obj).b];
  return { a: parseLinkEnd(a, `${p}.a`), b: parseLinkEnd(b, `${p}.b`) };
}

function toDevice(o: Obj): DeviceSpec {
  const d: DeviceSpec = {
    name: o.name as string,
    profile: o.profile as string,
    physicalRole: o.physicalRole as PhysicalRole,
    // YAML reads a bare `null` list item as null: that is the lean role name "null".
    roles: ((o.roles as (string | null)[] | undefined) ?? []).map((r) => (r === null ? 'null' : r)),
  };
  // Serials read as numbers by YAML (e.g. 1234) are still serials.
  if (o.serial !== undefined) d.serial = String(o.serial);
  if (o.managementIp !== undefined) d.managementIp = o.managementIp as string;
  if (o.model !== undefined) d.model = o.model as string;
  return d;
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

/**
 * Parse a fabric file. Text is YAML (JSON is valid YAML); an object is taken as already
 * decoded JSON. Returns a fresh FabricFile with settings defaults applied; throws FabricError.
 */
export function parseFabricFile(input: string | object): FabricFile {
  let doc: unknown = input;
  if (typeof input === 'string') doc = decodeText(input);
  if (!isObj(doc)) fail('(fabric file)', `expected a mapping, got ${describe(doc)}`);
  const o = dropNulls(doc) as Obj;
  if (o.fabric === undefined) fail('fabric', 'missing (the fabric file needs a `fabric:` section)');
  checkSchema(CHECK_FILE, o);
  const fabric = o.fabric as Obj;
  const spec: FabricSpec = {
    name: fabric.name as string,
    credentials: { ...(fabric.credentials as FabricSpec['credentials']) },
    namespaces: fabric.namespaces as FabricSpec['namespaces'],
    settings: resolveSettings(fabric.settings),
  };
  if (fabric.snmp !== undefined) spec.snmp = fabric.snmp as FabricSpec['snmp'];
  const file: FabricFile = {
    fabric: spec,
    devices: ((o.devices as Obj[] | undefined) ?? []).map(toDevice),
    links: ((o.links as unknown[] | undefined) ?? []).map(toLink),
  };
  for (const k of ['virtualNetworks', 'logicalRouters', 'servers', 'vpgs', 'externalNetworks', 'securityGroups', 'portProfiles'] as const) {
    if (o[k] !== undefined) (file as unknown as Obj)[k] = o[k];
  }
  // Overlay services: link ends normalised in services.ts.
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
