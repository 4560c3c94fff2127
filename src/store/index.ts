// Public interface of the store. Everything the jobs, workers, API and CLI use comes from here.
//
//   const { store, close } = await openStore({ dataDir, redisUrl, secretKey });
//
// Errors: StoreError {code: not_found | conflict | locked (jobId) | invalid (path) | contention}
// and the domain's FabricError {path} for a bad fabric file / roles / ports.
import type Redis from 'ioredis';
import { Store } from './store';
import type { StoreOptions } from './store';
import { loadSecretKey } from './secrets';
import { connectRedis, startLocalRedis } from './redis-server';
import { migrateStore, type MigrationResult } from './schema';
import type { LocalRedis } from './redis-server';

export * from './types';
export { Store } from './store';
export type { StoreHooks, StoreOptions } from './store';
export { StoreError, isStoreError } from './errors';
export type { StoreErrorCode } from './errors';
export { loadSecretKey, encrypt, decrypt, redactSecrets } from './secrets';
export { startLocalRedis, connectRedis, connectQueueRedis, queuePrefix, connectApiRedis, redisReady, redactRedisUrl, freePort } from './redis-server';
export { isClusterUrl } from './redis-url';
export type { LocalRedis, StartLocalRedisOptions } from './redis-server';
export { emptyAllocations } from './domain';
export { BACKUP_FORMAT, BACKUP_VERSION, storeKeyId } from './backup';
export type { BackupFile, BackupRecord, BackupCounts, RestoreResult } from './backup';
export { SCHEMA_VERSION, StoreSchemaError, migrateStore, readSchemaVersion } from './schema';
export type { MigrationResult } from './schema';
export type { AllocateFn, ValidateFn } from './domain';

export interface OpenStoreOptions {
  dataDir: string;
  /** Unset: start a local redis-server under `<dataDir>/redis` (stopped by close()). */
  redisUrl?: string;
  /** Port of that local redis-server (REDIS_PORT); unset: a free one. */
  redisPort?: number;
  /** FABRIC_SECRET_KEY (base64, 32 bytes); unset: `<dataDir>/secret.key`. */
  secretKey?: string;
  store?: Omit<StoreOptions, 'secretKey'>;
}

export interface OpenedStore {
  store: Store;
  /** The store key (a second Store on another connection, e.g. the API's, needs it). */
  secretKey: Buffer;
  redis: Redis;
  url: string;
  /** What the start-up migration did (schema.ts); `steps` is empty when the store was current. */
  migration: MigrationResult;
  /** Set when this call started its own redis-server. */
  localRedis?: LocalRedis;
  /** Quits the connection and stops the local redis-server if we started it. */
  close(): Promise<void>;
}

export async function openStore(opts: OpenStoreOptions): Promise<OpenedStore> {
  const key = loadSecretKey({ dataDir: opts.dataDir, secretKey: opts.secretKey });
  const localRedis = opts.redisUrl ? undefined : await startLocalRedis({ dataDir: opts.dataDir, ...(opts.redisPort ? { port: opts.redisPort } : {}) });
  const url = opts.redisUrl ?? localRedis!.url;
  const redis = connectRedis(url);
  const store = new Store(redis, { ...(opts.store ?? {}), secretKey: key });
  let migration: MigrationResult;
  try {
    // Before anything reads the store: an older layout is brought up to date, a newer one refused.
    migration = await migrateStore(redis, { prefix: store.prefix });
  } catch (e) {
    redis.disconnect();
    if (localRedis) await localRedis.stop();
    throw e;
  }
  return {
    store, secretKey: key, redis, url, localRedis, migration,
    close: async () => {
      try { await redis.quit(); } catch { redis.disconnect(); }
      if (localRedis) await localRedis.stop();
    },
  };
}
