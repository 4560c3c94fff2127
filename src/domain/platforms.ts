// Platform data: what each platform supports and the facts intent needs about it, as YAML under
// node-profiles/platforms/<platform>.yaml (static product data, like the node profiles; loaded
// once, sync, cached). The platform's behaviour (render layout, NETCONF dialect, readers) is code
// in src/platforms/<platform>/; this file is the half that validation and intent read, so the
// domain never imports the behaviour. A node profile names its platform and may override a fact
// for its model (`facts:` in the profile).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { checkFacts, completeFacts } from './facts';
import { FEATURES, NodeProfile, PlatformData, PlatformFacts, ROUTING_ROLES } from './types';

export { checkFacts, FACTS, FACT_NAMES } from './facts';

export type { PlatformData, PlatformFacts } from './types';

export type PlatformDataSet = ReadonlyMap<string, PlatformData>;

function dataError(file: string, what: string): Error {
  return new Error(`platform data ${file}: ${what}`);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list<T extends string>(v: unknown, file: string, key: string, known: readonly T[]): T[] {
  if (!Array.isArray(v)) throw dataError(file, `${key}: expected a list`);
  for (const x of v) {
    if (!known.includes(x as T)) throw dataError(file, `${key}: unknown ${key === 'features' ? 'feature' : 'role'} "${String(x)}" (known: ${known.join(', ')})`);
  }
  return v as T[];
}

/** Checks one decoded platform data file. */
export function checkPlatformData(doc: unknown, file: string): PlatformData {
  if (!isMap(doc)) throw dataError(file, 'expected a mapping');
  for (const k of Object.keys(doc)) {
    if (!['name', 'title', 'description', 'features', 'roles', 'facts'].includes(k)) throw dataError(file, `${k}: unknown field (allowed: name, title, description, features, roles, facts)`);
  }
  if (typeof doc.name !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(doc.name)) throw dataError(file, 'name: expected a lower-case name (letters, digits, "-")');
  for (const k of ['title', 'description'] as const) {
    if (typeof doc[k] !== 'string' || !doc[k] || /[\x00-\x1f]/.test(doc[k] as string)) throw dataError(file, `${k}: expected a non-empty line of text`);
  }
  const facts = checkFacts(doc.facts, `platform data ${file}: facts`);
  return {
    name: doc.name,
    title: doc.title as string,
    description: doc.description as string,
    features: list(doc.features, file, 'features', FEATURES),
    roles: list(doc.roles, file, 'roles', ROUTING_ROLES),
    facts: completeFacts(facts, `platform data ${file}: facts`),
  };
}

const cache = new Map<string, PlatformDataSet>();

/** Every `<profilesDir>/platforms/*.yaml`, by name. Cached per directory. */
export function loadPlatformData(profilesDir: string): PlatformDataSet {
  const hit = cache.get(profilesDir);
  if (hit) return hit;
  const dir = join(profilesDir, 'platforms');
  if (!existsSync(dir)) throw new Error(`platform data: no ${dir} (one <platform>.yaml per platform)`);
  const set = new Map<string, PlatformData>();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.yaml')) continue;
    const d = checkPlatformData(parseYaml(readFileSync(join(dir, f), 'utf8')), f);
    if (d.name !== f.slice(0, -'.yaml'.length)) throw dataError(f, `name "${d.name}" must equal the file name`);
    set.set(d.name, d);
  }
  cache.set(profilesDir, set);
  return set;
}

/** The platform data of a profile (its platform is checked when profiles load). */
export function platformDataOf(profile: NodeProfile, platforms: PlatformDataSet): PlatformData {
  const d = platforms.get(profile.platform);
  if (!d) throw new Error(`node profile ${profile.name}: no platform data for platform "${profile.platform}" (known: ${[...platforms.keys()].join(', ')})`);
  return d;
}

const factsCache = new WeakMap<PlatformDataSet, WeakMap<NodeProfile, PlatformFacts>>();

/** The facts of a device with this profile: its platform's, with the profile's overrides. */
export function factsOf(profile: NodeProfile, platforms: PlatformDataSet): PlatformFacts {
  let byProfile = factsCache.get(platforms);
  if (!byProfile) { byProfile = new WeakMap(); factsCache.set(platforms, byProfile); }
  let f = byProfile.get(profile);
  if (!f) {
    f = { ...platformDataOf(profile, platforms).facts, ...(profile.facts ?? {}) };
    byProfile.set(profile, f);
  }
  return f;
}
