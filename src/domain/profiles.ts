// Node profiles and role features. The YAML files under node-profiles/ are static product
// data shipped with the code (like templates), so loading them is the one read domain/ does:
// sync, once, cached. Everything else here is pure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { checkFacts, loadPlatformData, type PlatformDataSet } from './platforms';
import { FEATURES, Feature, NodeProfile, PHYSICAL_ROLES, PhysicalRole, ROUTING_ROLES, RoutingRole } from './types';

export type ProfileSet = Record<string, NodeProfile>;

export interface RoleFeatures {
  lean: Feature[];
  roles: Record<RoutingRole, Feature[]>;
}

/** The lean role name (`roles: [null]`); a device with no other role is lean. */
export const NULL_ROLE = 'null';

/** Walk up from this file to the repository root (works from src/ and from dist/src/). */
function findDir(name: string): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new Error(`cannot find ${name}/ above ${__dirname}`);
}

export function defaultProfilesDir(): string {
  return findDir('node-profiles');
}

/** The platform data beside the profiles (default: the shipped node-profiles/platforms/). */
export function loadPlatforms(dir: string = defaultProfilesDir()): PlatformDataSet {
  return loadPlatformData(dir);
}

function profileError(file: string, what: string): Error {
  return new Error(`node profile ${file}: ${what}`);
}

/** Check one decoded profile YAML against the NodeProfile schema (and its platform against `platforms`). */
export function checkProfile(doc: unknown, file: string, platforms?: PlatformDataSet): NodeProfile {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw profileError(file, 'expected a mapping');
  const o = doc as Record<string, unknown>;
  const strs = (k: string): string[] => {
    const v = o[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw profileError(file, `${k}: expected a list of strings`);
    return v as string[];
  };
  for (const k of ['name', 'vendor', 'platform']) {
    if (typeof o[k] !== 'string' || !o[k]) throw profileError(file, `${k}: expected a non-empty string`);
  }
  if (platforms && !platforms.has(o.platform as string)) {
    throw profileError(file, `platform: "${String(o.platform)}" has no platform data (known: ${[...platforms.keys()].join(', ')})`);
  }
  if (typeof o.hitlessUpgrade !== 'boolean') throw profileError(file, 'hitlessUpgrade: expected true or false');
  if (!Array.isArray(o.ports) || o.ports.length === 0) throw profileError(file, 'ports: expected a non-empty list');
  const ports = (o.ports as unknown[]).map((p, i) => {
    const po = p as Record<string, unknown>;
    if (typeof po?.pattern !== 'string') throw profileError(file, `ports[${i}].pattern: expected a string`);
    try { new RegExp(`^(?:${po.pattern})$`); } catch (e) { throw profileError(file, `ports[${i}].pattern: ${(e as Error).message}`); }
    return typeof po.description === 'string' ? { pattern: po.pattern, description: po.description } : { pattern: po.pattern };
  });
  const roles = strs('roles');
  for (const r of roles) {
    const at = r.indexOf('@');
    const role = r.slice(0, at);
    const phys = r.slice(at + 1);
    if (at < 0 || (role !== '*' && role !== NULL_ROLE && !ROUTING_ROLES.includes(role as RoutingRole))
      || (phys !== '*' && !PHYSICAL_ROLES.includes(phys as PhysicalRole))) {
      throw profileError(file, `roles: "${r}" is not role@physical`);
    }
  }
  const profile: NodeProfile = {
    name: o.name as string,
    vendor: o.vendor as string,
    platform: o.platform as NodeProfile['platform'],
    models: strs('models'),
    sysObjectIds: strs('sysObjectIds'),
    ports,
    hitlessUpgrade: o.hitlessUpgrade as boolean,
    roles,
  };
  if (o.facts !== undefined) profile.facts = checkFacts(o.facts, `node profile ${file}: facts`);
  return profile;
}

const profileCache = new Map<string, ProfileSet>();

/** Every profile under `dir` (default: the shipped node-profiles/), keyed by name. Cached. */
export function loadProfiles(dir: string = defaultProfilesDir()): ProfileSet {
  const hit = profileCache.get(dir);
  if (hit) return hit;
  const set: ProfileSet = {};
  const platforms = loadPlatformData(dir);
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.yaml') || f === 'roles.yaml') continue;
    const p = checkProfile(parseYaml(readFileSync(join(dir, f), 'utf8')), f, platforms);
    if (p.name !== f.slice(0, -'.yaml'.length)) throw profileError(f, `name "${p.name}" must equal the file name`);
    set[p.name] = p;
  }
  profileCache.set(dir, set);
  return set;
}

const roleCache = new Map<string, RoleFeatures>();

function featureList(v: unknown, where: string): Feature[] {
  if (!Array.isArray(v)) throw new Error(`roles.yaml: ${where}: expected a list of features`);
  for (const f of v) if (!FEATURES.includes(f as Feature)) throw new Error(`roles.yaml: ${where}: unknown feature "${String(f)}"`);
  return v as Feature[];
}

/** node-profiles/roles.yaml: role -> features, plus the lean set. Cached. */
export function loadRoleFeatures(dir: string = defaultProfilesDir()): RoleFeatures {
  const hit = roleCache.get(dir);
  if (hit) return hit;
  const doc = parseYaml(readFileSync(join(dir, 'roles.yaml'), 'utf8')) as Record<string, unknown>;
  const roles = {} as Record<RoutingRole, Feature[]>;
  const src = (doc.roles ?? {}) as Record<string, unknown>;
  for (const r of ROUTING_ROLES) roles[r] = featureList(src[r], r);
  const rf: RoleFeatures = { lean: featureList(doc.lean, 'lean'), roles };
  roleCache.set(dir, rf);
  return rf;
}

// ------------------------------------------------------------------ pure helpers

const portRegexes = new WeakMap<NodeProfile, RegExp>();

/** One anchored regex over all the profile's port patterns, compiled once per profile. */
function portRegex(p: NodeProfile): RegExp {
  let re = portRegexes.get(p);
  if (!re) {
    re = new RegExp(`^(?:${p.ports.map((x) => `(?:${x.pattern})`).join('|')})$`);
    portRegexes.set(p, re);
  }
  return re;
}

export function portValid(p: NodeProfile, port: string): boolean {
  return portRegex(p).test(port);
}

export function describePorts(p: NodeProfile): string {
  return p.ports.map((x) => x.description ?? x.pattern).join('; ');
}

/** `role@physical` allowed by the profile (`*` in either half matches everything). */
export function roleAllowed(p: NodeProfile, role: string, physical: PhysicalRole): boolean {
  for (const r of p.roles) {
    const at = r.indexOf('@');
    const rr = r.slice(0, at);
    const pp = r.slice(at + 1);
    if ((rr === '*' || rr === role) && (pp === '*' || pp === physical)) return true;
  }
  return false;
}

/** The profile called `name` (a user-supplied string: never an inherited property like "constructor"). */
export function profileNamed(profiles: ProfileSet, name: string): NodeProfile | undefined {
  return Object.hasOwn(profiles, name) ? profiles[name] : undefined;
}

/** The roles a profile allows for one physical role (for error messages). */
export function allowedRoles(p: NodeProfile, physical: PhysicalRole): string[] {
  const out: string[] = [];
  for (const r of p.roles) {
    const at = r.indexOf('@');
    const pp = r.slice(at + 1);
    if (pp === '*' || pp === physical) out.push(r.slice(0, at));
  }
  return out;
}

/** Profile whose `models` lists this model (case-insensitive, as Junos facts report it). */
export function profileForModel(model: string, profiles: ProfileSet = loadProfiles()): NodeProfile | undefined {
  const m = model.trim().toLowerCase();
  for (const name of Object.keys(profiles).sort()) {
    if (profiles[name].models.some((x) => x.toLowerCase() === m)) return profiles[name];
  }
  return undefined;
}

function oidHasPrefix(oid: string, prefix: string): boolean {
  return oid === prefix || oid.startsWith(`${prefix}.`);
}

/** Every profile matching a sysObjectID, longest prefix first (QFX models share one OID). */
export function profilesForSysObjectId(oid: string, profiles: ProfileSet = loadProfiles()): NodeProfile[] {
  const o = oid.replace(/^\./, '');
  const hits: { p: NodeProfile; len: number }[] = [];
  for (const name of Object.keys(profiles).sort()) {
    const p = profiles[name];
    const len = Math.max(-1, ...p.sysObjectIds.filter((x) => oidHasPrefix(o, x)).map((x) => x.length));
    if (len >= 0) hits.push({ p, len });
  }
  return hits.sort((a, b) => b.len - a.len).map((h) => h.p);
}

/**
 * The single profile a sysObjectID selects: the longest matching prefix, or undefined when
 * nothing matches or several profiles tie (then the model from facts must decide).
 */
export function profileForSysObjectId(oid: string, profiles: ProfileSet = loadProfiles()): NodeProfile | undefined {
  const o = oid.replace(/^\./, '');
  let best: NodeProfile | undefined;
  let bestLen = -1;
  let tie = false;
  for (const name of Object.keys(profiles).sort()) {
    for (const prefix of profiles[name].sysObjectIds) {
      if (!oidHasPrefix(o, prefix)) continue;
      if (prefix.length > bestLen) { best = profiles[name]; bestLen = prefix.length; tie = false; }
      else if (prefix.length === bestLen && best !== profiles[name]) tie = true;
    }
  }
  return tie ? undefined : best;
}

/** True when the device has no routing/bridging role (roles [] or [null]). */
export function isLean(roles: readonly string[]): boolean {
  return roles.every((r) => r === NULL_ROLE);
}

/** Features of a role list: union over roles, in canonical order; lean -> basic + ip_clos. */
export function featuresFor(roles: readonly string[], rf: RoleFeatures = loadRoleFeatures()): Feature[] {
  const set = new Set<Feature>();
  if (isLean(roles)) rf.lean.forEach((f) => set.add(f));
  for (const r of roles) {
    if (r === NULL_ROLE) continue;
    const fs = Object.hasOwn(rf.roles, r) ? rf.roles[r as RoutingRole] : undefined;
    if (fs) fs.forEach((f) => set.add(f));
  }
  return FEATURES.filter((f) => set.has(f));
}
