// Software images (issue 15): the service's copy of each OS image, by name, with its sha256.
// Kept apart from store.ts (which is being split) under its own keys:
//   <prefix>images                 hash name -> ImageRecord JSON
//   <prefix>image-use:<name>       hash jobId -> fabric, the running upgrade plans that use it
// Images are not a fabric's inventory, so they do not go through the fabric version counter;
// each write is one Lua script (atomic, conditions checked inside), which is the store's
// transaction model without the optimistic read: nothing is read in Node and then written.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type Redis from 'ioredis';
import { StoreError } from './errors';

export const IMAGE_PLATFORMS = ['frr', 'junos'] as const;
export type ImagePlatform = typeof IMAGE_PLATFORMS[number];

export interface ImageRecord {
  name: string;
  platform: ImagePlatform;
  /** the version the device reports once this image runs (compared after normalizeVersion) */
  version: string;
  sha256: string;
  size: number;
  /** the file it was imported from (for the operator; the service serves its own copy) */
  source: string;
  createdAt: string;
}

export interface NewImage { name: string; platform: ImagePlatform; version: string; path: string }

// KEYS images. ARGV name, json. 1 created, 0 exists.
const CREATE_LUA = `return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])`;
// KEYS images, use. ARGV name. 1 deleted, 0 missing, {-1, jobId} in use. A use whose job record
// (job:<id>, src/jobs/records.ts) is finished or gone is stale (its worker died before releasing
// it) and is dropped here, so a dead job never pins an image forever.
const DELETE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  local st = redis.call('HGET', 'job:' .. id, 'state')
  if st == 'queued' or st == 'running' then return {-1, id} end
  redis.call('HDEL', KEYS[2], id)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;
// KEYS images, use. ARGV name, jobId, fabric. 1 recorded, 0 no such image.
const USE_LUA = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** A file name inside the image directory: the checksum only (no user text reaches the path). */
const blobName = (sha256: string) => `${sha256}.img`;

/** The images of a store (its Redis and key prefix), their copies under `<dataDir>/images`. */
export function imageStoreAt(store: { redis: Redis; prefix: string }, dataDir: string): ImageStore {
  return new ImageStore(store.redis, path.join(dataDir, 'images'), store.prefix);
}

export class ImageStore {
  constructor(readonly redis: Redis, readonly dir: string, readonly prefix = 'fz:') {}

  private get key(): string { return `${this.prefix}images`; }
  private useKey(name: string): string { return `${this.prefix}image-use:${name}`; }

  /** Where the service's copy of an image lives (for serving it). */
  blobPath(img: ImageRecord): string { return path.join(this.dir, blobName(img.sha256)); }

  /**
   * Copies the file at `input.path` into the image directory while hashing it, then records the
   * image. A name already taken is a conflict; a failed copy leaves nothing behind.
   */
  async create(input: NewImage): Promise<ImageRecord> {
    if (await this.get(input.name)) throw new StoreError('conflict', `image "${input.name}" already exists`, 'name');
    if (!path.isAbsolute(input.path)) throw new StoreError('invalid', `path: "${input.path}" is not an absolute path on the service host`, 'path');
    let st;
    try { st = await fs.stat(input.path); } catch (e) {
      throw new StoreError('invalid', `path: cannot read ${input.path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'path');
    }
    if (!st.isFile()) throw new StoreError('invalid', `path: ${input.path} is not a regular file`, 'path');
    await fs.mkdir(this.dir, { recursive: true, mode: 0o750 });
    const tmp = path.join(this.dir, `.upload-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(createReadStream(input.path), new Transform({
        transform(chunk: Buffer, _enc, cb) { hash.update(chunk); size += chunk.length; cb(null, chunk); },
      }), createWriteStream(tmp, { mode: 0o640 }));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new StoreError('invalid', `path: cannot read ${input.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'path');
    }
    const sha256 = hash.digest('hex');
    await fs.rename(tmp, path.join(this.dir, blobName(sha256)));
    const rec: ImageRecord = {
      name: input.name, platform: input.platform, version: input.version, sha256, size, source: input.path, createdAt: new Date().toISOString(),
    };
    const ok = await this.redis.eval(CREATE_LUA, 1, this.key, rec.name, JSON.stringify(rec)) as number;
    // Lost a race for the name: the blob stays only if another image has the same content.
    if (ok !== 1) {
      await this.dropBlobUnlessUsed(sha256);
      throw new StoreError('conflict', `image "${input.name}" already exists`, 'name');
    }
    return rec;
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    const raw = await this.redis.hget(this.key, name);
    return raw ? JSON.parse(raw) as ImageRecord : undefined;
  }

  async list(): Promise<ImageRecord[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all).map((v) => JSON.parse(v) as ImageRecord).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Deletes an image; refused (conflict, with the job) while an upgrade plan uses it. */
  async delete(name: string): Promise<void> {
    const img = await this.get(name);
    const r = await this.redis.eval(DELETE_LUA, 2, this.key, this.useKey(name), name) as number | [number, string];
    if (r === 0 || !img) throw new StoreError('not_found', `image "${name}" not found`);
    if (Array.isArray(r)) throw new StoreError('conflict', `image "${name}" is used by the running upgrade job ${r[1]}`, undefined, r[1]);
    await this.dropBlobUnlessUsed(img.sha256);
  }

  /** Marks the image as used by an upgrade job (until release); false when there is no such image. */
  async use(name: string, jobId: string, fabric: string): Promise<boolean> {
    return (await this.redis.eval(USE_LUA, 2, this.key, this.useKey(name), name, jobId, fabric)) === 1;
  }

  async release(name: string, jobId: string): Promise<void> {
    await this.redis.hdel(this.useKey(name), jobId);
  }

  async usedBy(name: string): Promise<string[]> {
    return this.redis.hkeys(this.useKey(name));
  }

  private async dropBlobUnlessUsed(sha256: string): Promise<void> {
    if ((await this.list()).some((i) => i.sha256 === sha256)) return;
    await fs.rm(path.join(this.dir, blobName(sha256)), { force: true });
  }
}
