// The stored data's schema version (`<prefix>schema`) and the migrations between versions,
// run when the store opens (openStore: the service's start, every worker's start), so a store
// written by the previous release opens in the next one. A store newer than this code is
// refused with one line: reading it could lose what the newer release wrote.
//
// Versions: 0 = no version key (every release before it); 1 = today's layout (docs/store.md).
// A migration step must be idempotent: several processes starting at once may all run it;
// the version then moves on by compare-and-set, once.
import type { Cluster, Redis } from 'ioredis';
import { StoreKeys } from './keys';

export const SCHEMA_VERSION = 1;

export class StoreSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreSchemaError';
  }
}

interface Migration {
  from: number;
  to: number;
  what: string;
  run(redis: Redis, keys: StoreKeys): Promise<void>;
}

const MIGRATIONS: Migration[] = [
  {
    from: 0, to: 1,
    what: 'schema version stamped; keys of the removed job model (<prefix>job:*, <prefix>jobs, <prefix>f:*:jobs; the live job records are job:*) deleted',
    run: async (redis, keys) => {
      // With an empty prefix the old model's `job:*` would be the live records' keys: leave them.
      if (keys.prefix === '') return;
      for (const pattern of [`${keys.prefix}job:*`, `${keys.prefix}jobs`, `${keys.prefix}f:*:jobs`]) {
        for await (const batch of scanKeys(redis, pattern)) if (batch.length) await redis.del(...batch);
      }
    },
  },
];

/**
 * SCAN in batches (never KEYS: a large Redis serves others meanwhile). Bounded by SCAN's own end.
 * On a cluster (redis-url.ts) SCAN is per node and ioredis' keyPrefix does not apply to its
 * pattern nor strip it from the answer: every primary is scanned with the prefix added, and the
 * keys come back without it, as they are named everywhere else.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const cluster = (redis as unknown as { isCluster?: boolean }).isCluster ? redis as unknown as Cluster : undefined;
  if (!cluster) { yield* scanNode(redis, pattern, count, ''); return; }
  const prefix = cluster.options.keyPrefix ?? '';
  for (const node of cluster.nodes('master')) yield* scanNode(node, prefix + pattern, count, prefix);
}

async function* scanNode(redis: Redis, pattern: string, count: number, strip: string): AsyncGenerator<string[]> {
  let cursor = '0';
  for (let i = 0; i < 10_000_000; i++) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    yield strip ? batch.map((k) => k.slice(strip.length)) : batch;
    if (next === '0') return;
    cursor = next;
  }
  throw new Error(`SCAN ${pattern} did not end`);
}

/** The stored schema version (0: no version key, a store of a release before versions). */
export async function readSchemaVersion(redis: Redis, prefix = 'fz:'): Promise<number> {
  const key = new StoreKeys(prefix).schema;
  const raw = await redis.get(key);
  if (raw === null) return 0;
  if (!/^\d{1,9}$/.test(raw)) throw new StoreSchemaError(`store schema: ${key} holds ${JSON.stringify(raw.slice(0, 40))}, not a version number`);
  return Number(raw);
}

export function newerSchemaMessage(found: number): string {
  return `store schema version ${found} is newer than this release supports (${SCHEMA_VERSION}): it was written by a later fabric-ztp; run that release, or restore a backup made by this one into an empty Redis`;
}

// KEYS[1] schema key. ARGV[1] expected version ('0' = absent), ARGV[2] new version.
const SCHEMA_CAS_LUA = `
local cur = redis.call('GET', KEYS[1]) or '0'
if cur ~= ARGV[1] then return cur end
redis.call('SET', KEYS[1], ARGV[2])
return ARGV[2]
`;

export interface MigrationResult { from: number; to: number; steps: string[] }

/**
 * Brings the store to SCHEMA_VERSION: runs each step from the stored version on, then
 * stamps the new version. Throws StoreSchemaError for a store newer than this code.
 */
export async function migrateStore(redis: Redis, opts: { prefix?: string } = {}): Promise<MigrationResult> {
  const keys = new StoreKeys(opts.prefix ?? 'fz:');
  const from = await readSchemaVersion(redis, keys.prefix);
  if (from > SCHEMA_VERSION) throw new StoreSchemaError(newerSchemaMessage(from));
  const steps: string[] = [];
  let v = from;
  while (v < SCHEMA_VERSION) {
    const m = MIGRATIONS.find((x) => x.from === v);
    if (!m) throw new StoreSchemaError(`store schema version ${v}: no migration from it in this release`);
    await m.run(redis, keys);
    const now = Number(await redis.eval(SCHEMA_CAS_LUA, 1, keys.schema, String(v), String(m.to)));
    // Another process may have moved it on meanwhile (then its steps ran): go on from there.
    if (now === m.to) steps.push(`${m.from} -> ${m.to}: ${m.what}`);
    if (now > SCHEMA_VERSION) throw new StoreSchemaError(newerSchemaMessage(now));
    if (now <= v && now !== m.to) throw new StoreSchemaError(`store schema version went from ${v} back to ${now} while migrating`);
    v = now;
  }
  return { from, to: v, steps };
}
