// The whole store as one versioned file, and back (issue 18): fabrics, devices, ports, links,
// allocations, services, host keys, events, config history, the counters, and the API tokens'
// hashes. Secrets stay as stored (encrypted with the store key); the key is never in the file,
// only an id of it (a hash), so a restore into a service with another key is refused before
// anything is written instead of leaving secrets nobody can decrypt.
//
// Left out on purpose: caches (the intended-config cache, `op:` commit markers), the fabric
// lock (a restored lock would block a job that no longer exists), and what other modules keep
// under the same prefix (audit trail, rate limits, DHCP leases, push scratch keys).
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { StoreError, conflict, invalid } from './errors';
import type { StoreCore } from './core';
import { execValues } from './core';
import { FABRIC_PARTS } from './keys';
import { NAME_RE } from './checks';
import { SCHEMA_VERSION, migrateStore, newerSchemaMessage, scanKeys } from './schema';

export const BACKUP_FORMAT = 'fabric-ztp-backup';
export const BACKUP_VERSION = 1;

export type RecordType = 'string' | 'hash' | 'set' | 'list' | 'zset' | 'stream';
/** One Redis key: string -> string, hash -> {field: value}, set/list -> string[], zset -> [member, score][], stream -> [id, fields][]. */
export interface BackupRecord { key: string; type: RecordType; value: unknown }

export interface BackupCounts { fabrics: number; devices: number; links: number; hostKeys: number; configCommits: number; events: number; tokens: number }

export interface BackupFile {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** The store layout's schema version (schema.ts) the records are in. */
  schema: number;
  createdAt: string;
  /** Which store key the secrets are encrypted with (a hash of it; the key itself is never here). */
  keyId: string;
  counts: BackupCounts;
  /** Store keys, relative to the store's prefix (a backup restores under any prefix). */
  store: BackupRecord[];
  /** The API tokens (src/api/auth.ts): ids, roles and sha256 hashes, never a token. */
  tokens: BackupRecord[];
}

export interface RestoreResult { counts: BackupCounts; replaced: boolean; migrated: string[] }

/** Per-fabric parts kept in a backup: everything but the intended-config cache. */
// Caches are left out: the intended configs are recomputed, the drift set by the next check.
const PARTS = new Set<string>(FABRIC_PARTS.filter((p) => p !== 'intended' && p !== 'drift'));
/** `f:{fabric}:{part}`, a fabric name as the store accepts it. */
const STORE_KEY_RE = new RegExp(`^f:(${NAME_RE.source.replace(/^\^|\$$/g, '')}):(.+)$`);
/** The key names of src/api/auth.ts (the store must not import the API layer). */
const TOKEN_KEY_RES = [/^auth:token:[0-9a-f]{12}$/, /^auth:token:hash:[0-9a-f]{64}$/, /^auth:tokens$/];
const TYPES: readonly RecordType[] = ['string', 'hash', 'set', 'list', 'zset', 'stream'];
const COUNTERS = new Set(['ver', 'iver', 'dver']);
const ATTEMPTS = 5;

/** A stable, one-way id of the store key: equal keys give equal ids, and it reveals nothing of the key. */
export function storeKeyId(key: Buffer): string {
  return createHash('sha256').update('fabric-ztp store key id\n').update(key).digest('hex').slice(0, 16);
}

/** Whether a store-relative key is one a backup holds (and a forced restore replaces). */
function storeKeyKept(rel: string): boolean {
  if (rel === 'fabrics') return true;
  const m = STORE_KEY_RE.exec(rel);
  return !!m && (PARTS.has(m[2]) || /^cfg:[^:]{1,128}$/.test(m[2]));
}

async function storeKeys(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  if (await redis.exists(`${prefix}fabrics`)) out.push(`${prefix}fabrics`);
  for await (const batch of scanKeys(redis, `${prefix}f:*`)) {
    for (const k of batch) if (storeKeyKept(k.slice(prefix.length))) out.push(k);
  }
  return [...new Set(out)].sort();
}

async function tokenKeys(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of scanKeys(redis, 'auth:token*')) for (const k of batch) if (TOKEN_KEY_RES.some((re) => re.test(k))) out.push(k);
  return [...new Set(out)].sort();
}

function pairs(flat: string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], Number(flat[i + 1])]);
  return out;
}

/**
 * Reads `keys` in ONE MULTI (Redis runs it as one step: a point-in-time view of them, so the
 * inventory of a fabric is never half of one commit and half of the next).
 */
async function readAtomically(redis: Redis, keys: string[]): Promise<BackupRecord[] | null> {
  const types = (await execValues(keys.reduce((p, k) => p.type(k), redis.pipeline()))) as string[];
  const m = redis.multi();
  keys.forEach((k, i) => {
    switch (types[i]) {
      case 'string': m.get(k); break;
      case 'hash': m.hgetall(k); break;
      case 'set': m.smembers(k); break;
      case 'list': m.lrange(k, 0, -1); break;
      case 'zset': m.zrange(k, 0, -1, 'WITHSCORES'); break;
      case 'stream': m.xrange(k, '-', '+'); break;
      default: m.exists(k); // gone since the scan (type 'none')
    }
  });
  const res = await m.exec();
  if (!res) return null;
  const out: BackupRecord[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [err, v] = res[i];
    if (err) return null; // the key changed type meanwhile: read again
    const type = types[i] as RecordType;
    if (!TYPES.includes(type)) continue;
    let value: unknown = v;
    if (type === 'hash') value = Object.fromEntries(Object.entries(v as Record<string, string>).sort());
    else if (type === 'set') value = (v as string[]).sort();
    else if (type === 'zset') value = pairs(v as string[]);
    if (value === null || (Array.isArray(value) && value.length === 0) || (type === 'hash' && Object.keys(value as object).length === 0)) continue;
    out.push({ key: keys[i], type, value });
  }
  return out;
}

function countsOf(store: BackupRecord[], tokens: BackupRecord[]): BackupCounts {
  const c: BackupCounts = { fabrics: 0, devices: 0, links: 0, hostKeys: 0, configCommits: 0, events: 0, tokens: 0 };
  for (const r of store) {
    if (r.key === 'fabrics') { c.fabrics = Object.keys(r.value as object).length; continue; }
    const part = STORE_KEY_RE.exec(r.key)?.[2] ?? '';
    const n = Array.isArray(r.value) ? r.value.length : typeof r.value === 'object' ? Object.keys(r.value as object).length : 1;
    if (part === 'devices') c.devices += n;
    else if (part === 'links') c.links += n;
    else if (part === 'hostkeys') c.hostKeys += n;
    else if (part === 'events') c.events += n;
    else if (part.startsWith('cfg:')) c.configCommits += n;
  }
  c.tokens = tokens.filter((r) => /^auth:token:[0-9a-f]{12}$/.test(r.key)).length;
  return c;
}

/** The whole store as one file. Retries (bounded) when a fabric appears between the scan and the read. */
export async function makeBackup(core: StoreCore): Promise<BackupFile> {
  const { redis } = core;
  const prefix = core.keys.prefix;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const sKeys = await storeKeys(redis, prefix);
    const tKeys = await tokenKeys(redis);
    const schemaRaw = await redis.get(core.keys.schema);
    const recs = await readAtomically(redis, [...sKeys, ...tKeys]);
    if (!recs) continue;
    const isToken = new Set(tKeys);
    const store = recs.filter((r) => !isToken.has(r.key)).map((r) => ({ ...r, key: r.key.slice(prefix.length) }));
    const tokens = recs.filter((r) => isToken.has(r.key));
    // Every fabric has a commit counter from its first commit: one missing means the fabric
    // was created after the scan, and its keys are not all in this read.
    const fabrics = Object.keys((store.find((r) => r.key === 'fabrics')?.value ?? {}) as object);
    const have = new Set(store.map((r) => r.key));
    if (fabrics.some((f) => !have.has(`f:${f}:ver`))) continue;
    return {
      format: BACKUP_FORMAT, version: BACKUP_VERSION, schema: schemaRaw === null ? 0 : Number(schemaRaw), createdAt: new Date().toISOString(),
      keyId: storeKeyId(core.secretKey), counts: countsOf(store, tokens), store, tokens,
    };
  }
  throw new StoreError('contention', `backup: the store kept changing during ${ATTEMPTS} reads; retry later`);
}

// ------------------------------------------------------------------------------- restore

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parts whose values are JSON records (a hash's values, a list's items, a string): parsed before anything is written. */
const JSON_PARTS = new Set(['services', 'devices', 'ports', 'links', 'alloc']);

function checkJson(r: BackupRecord, path: string): void {
  const part = r.key === 'fabrics' ? 'fabrics' : STORE_KEY_RE.exec(r.key)?.[2] ?? '';
  if (part !== 'fabrics' && !JSON_PARTS.has(part) && !part.startsWith('cfg:')) return;
  const texts = typeof r.value === 'string' ? [r.value] : Array.isArray(r.value) ? r.value as string[] : Object.values(r.value as Record<string, string>);
  texts.forEach((t, i) => {
    try { JSON.parse(t); } catch { throw invalid(`${path}.value: entry ${i} of ${r.key} is not JSON`, `${path}.value`); }
  });
}

function checkValue(r: BackupRecord, path: string): void {
  const bad = (what: string) => invalid(`${path}.value: a ${r.type} record must be ${what}`, `${path}.value`);
  const v = r.value;
  switch (r.type) {
    case 'string': if (typeof v !== 'string') throw bad('a string'); break;
    case 'hash':
      if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string') || Object.keys(v).length === 0) throw bad('a non-empty object of strings');
      break;
    case 'set': case 'list': if (!isStrings(v) || v.length === 0) throw bad('a non-empty array of strings'); break;
    case 'zset':
      if (!Array.isArray(v) || v.length === 0 || !v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && Number.isFinite(p[1]))) throw bad('a non-empty array of [member, score]');
      break;
    case 'stream':
      if (!Array.isArray(v) || v.length === 0 || !v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && /^\d+-\d+$/.test(e[0]) && isStrings(e[1]) && e[1].length % 2 === 0 && e[1].length > 0)) {
        throw bad('a non-empty array of [id, [field, value, ...]]');
      }
      break;
  }
}

/** Structure of a backup file, every record checked: a clear error with its path, nothing written. */
export function checkBackup(file: unknown, keyId: string): BackupFile {
  const f = file as Partial<BackupFile> | null;
  if (!f || typeof f !== 'object' || f.format !== BACKUP_FORMAT) throw invalid(`format: not a ${BACKUP_FORMAT} file`, 'format');
  if (f.version !== BACKUP_VERSION) throw invalid(`version: backup file version ${JSON.stringify(f.version)} is not supported (this release reads ${BACKUP_VERSION})`, 'version');
  if (!Number.isInteger(f.schema) || (f.schema as number) < 0) throw invalid('schema: must be a non-negative integer', 'schema');
  if ((f.schema as number) > SCHEMA_VERSION) throw invalid(`schema: ${newerSchemaMessage(f.schema as number)}`, 'schema');
  if (f.keyId !== keyId) {
    throw invalid(`keyId: the backup's secrets are encrypted with another store key (id ${String(f.keyId).slice(0, 16)}, this service's is ${keyId}); start the service with the FABRIC_SECRET_KEY (or secret.key) of the service that made it`, 'keyId');
  }
  for (const [part, ok] of [['store', storeKeyKept], ['tokens', (k: string) => TOKEN_KEY_RES.some((re) => re.test(k))]] as const) {
    const recs = f[part];
    if (!Array.isArray(recs)) throw invalid(`${part}: must be an array of records`, part);
    const seen = new Set<string>();
    recs.forEach((r, i) => {
      const path = `${part}[${i}]`;
      if (!r || typeof r !== 'object' || typeof r.key !== 'string') throw invalid(`${path}.key: must be a string`, `${path}.key`);
      if (!ok(r.key)) throw invalid(`${path}.key: ${JSON.stringify(r.key.slice(0, 80))} is not a key a backup holds`, `${path}.key`);
      if (seen.has(r.key)) throw invalid(`${path}.key: ${r.key} appears twice`, `${path}.key`);
      seen.add(r.key);
      if (!TYPES.includes(r.type)) throw invalid(`${path}.type: must be one of ${TYPES.join(', ')}`, `${path}.type`);
      checkValue(r, path);
      if (part === 'store') checkJson(r, path);
    });
  }
  return f as BackupFile;
}

/** The fabrics a store holds, and whether it holds anything a restore would replace. */
async function currentContent(core: StoreCore): Promise<{ keys: string[]; fabrics: number }> {
  const keys = await storeKeys(core.redis, core.keys.prefix);
  return { keys, fabrics: await core.redis.hlen(core.keys.fabrics) };
}

/**
 * Writes a backup into this store in ONE MULTI (all or nothing). Refused over a store that
 * holds anything unless `force` (then the store's keys are replaced; tokens are merged, so the
 * admin token doing the restore keeps working). Refused while a fabric job holds a lock.
 */
export async function restoreBackup(core: StoreCore, input: unknown, opts: { force?: boolean } = {}): Promise<RestoreResult> {
  const file = checkBackup(input, storeKeyId(core.secretKey));
  const { redis } = core;
  const prefix = core.keys.prefix;
  const cur = await currentContent(core);
  if (cur.keys.length > 0 && !opts.force) {
    throw conflict(`restore: the store is not empty (${cur.fabrics} fabrics, ${cur.keys.length} keys); restore with force to replace it`, 'force');
  }
  for await (const batch of scanKeys(redis, `${prefix}lock:*`)) {
    for (const k of batch) {
      const holder = await redis.get(k);
      if (holder) throw new StoreError('locked', `restore: fabric ${k.slice(`${prefix}lock:`.length)} is busy: job ${holder} is running; restore when no fabric job runs`, undefined, holder);
    }
  }
  // Counters of a replaced store move past both the old and the backup's value, so no cache or
  // snapshot of the old store (in any process) can match the restored one.
  const old = new Map<string, number>();
  if (cur.keys.length) {
    const counterKeys = cur.keys.filter((k) => COUNTERS.has(STORE_KEY_RE.exec(k.slice(prefix.length))?.[2] ?? ''));
    const vals = counterKeys.length ? await redis.mget(...counterKeys) : [];
    counterKeys.forEach((k, i) => old.set(k.slice(prefix.length), Number(vals[i] ?? 0)));
  }
  // The old store's intended-config caches describe its inventory, not the restored one.
  const caches: string[] = [];
  if (cur.keys.length) for await (const batch of scanKeys(redis, `${prefix}f:*:intended`)) caches.push(...batch);
  const m = redis.multi();
  for (const k of [...cur.keys, ...caches]) m.del(k);
  const bumped = new Set<string>();
  for (const r of file.store) {
    const key = prefix + r.key;
    const part = STORE_KEY_RE.exec(r.key)?.[2] ?? '';
    if (COUNTERS.has(part) && old.has(r.key)) {
      m.set(key, String(Math.max(old.get(r.key)!, Number(r.value)) + 1));
      if (part === 'dver') bumped.add(r.key.slice(0, -'dver'.length));
      continue;
    }
    writeRecord(m, key, r);
  }
  // A device-list cache must reload everything: note the whole hash as replaced at the new dver.
  for (const base of bumped) {
    const dver = Math.max(old.get(`${base}dver`)!, Number(file.store.find((r) => r.key === `${base}dver`)!.value)) + 1;
    m.zadd(`${prefix}${base}dchg`, dver, '*');
  }
  for (const r of file.tokens) writeRecord(m, r.key, r);
  m.set(core.keys.schema, String(file.schema));
  const res = await m.exec();
  if (!res) throw new StoreError('contention', 'restore: the transaction was aborted; nothing was written, retry');
  for (const [err] of res) if (err) throw err;
  const migrated = file.schema < SCHEMA_VERSION ? (await migrateStore(redis, { prefix })).steps : [];
  return { counts: countsOf(file.store, file.tokens), replaced: cur.keys.length > 0, migrated };
}

type Multi = ReturnType<Redis['multi']>;

function writeRecord(m: Multi, key: string, r: BackupRecord): void {
  switch (r.type) {
    case 'string': m.set(key, r.value as string); break;
    case 'hash': m.hset(key, r.value as Record<string, string>); break;
    case 'set': m.sadd(key, ...(r.value as string[])); break;
    case 'list': m.rpush(key, ...(r.value as string[])); break;
    case 'zset': m.zadd(key, ...(r.value as [string, number][]).flatMap(([mem, s]) => [s, mem])); break;
    case 'stream': for (const [id, fields] of r.value as [string, string[]][]) m.xadd(key, id, ...fields); break;
  }
}
