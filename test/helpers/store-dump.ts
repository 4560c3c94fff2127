// The v0 store fixture (test/fixtures/store-v0.json, written by the release before schema
// versions) and a loader that writes its records as they were, independent of the store's own
// restore code (so a test of that code does not check it against itself).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';

/** The key the fixture's secrets are encrypted with (test/fixtures/make-store-v0.ts). */
export const FIXTURE_KEY = 'c3QtZml4dHVyZS1rZXktbm90LWEtc2VjcmV0LTAxMjM=';
export interface DumpRecord { key: string; type: string; value: unknown }

export function fixtureV0(): DumpRecord[] {
  return (JSON.parse(readFileSync(path.join(__dirname, '../fixtures/store-v0.json'), 'utf8')) as { records: DumpRecord[] }).records;
}

export async function loadDump(r: Redis, records: DumpRecord[]): Promise<void> {
  for (const { key, type, value } of records) {
    if (type === 'string') await r.set(key, value as string);
    else if (type === 'hash') await r.hset(key, value as Record<string, string>);
    else if (type === 'set') await r.sadd(key, ...(value as string[]));
    else if (type === 'list') await r.rpush(key, ...(value as string[]));
    else if (type === 'zset') for (const [m, s] of value as [string, number][]) await r.zadd(key, s, m);
    else if (type === 'stream') for (const [id, fields] of value as [string, string[]][]) await r.xadd(key, id, ...fields);
    else throw new Error(`${key}: ${type}`);
  }
}
