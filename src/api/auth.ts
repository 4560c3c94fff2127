// API tokens: bearer tokens with a role. Only a sha256 of each token is stored (Redis), so a
// copy of the database never yields a usable token. The first start writes an admin token to
// $DATA_DIR/admin-token (0600) and logs where it is, never the token itself.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Redis } from 'ioredis';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export interface TokenInfo {
  id: string;
  role: Role;
  name?: string;
  createdAt: string;
}

const K = {
  byHash: (h: string) => `auth:token:hash:${h}`,
  info: (id: string) => `auth:token:${id}`,
  all: 'auth:tokens',
};

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `fzt_<id>_<secret>`: the id lets an operator name a token without revealing it. */
function newToken(): { id: string; token: string } {
  const id = randomBytes(6).toString('hex');
  const token = `fzt_${id}_${randomBytes(24).toString('base64url')}`;
  return { id, token };
}

export class TokenStore {
  /**
   * Verified tokens, by hash, for `cacheMs` (default 1 s): saves two Redis reads per request.
   * A revoke here takes effect at once; one made by another API process within cacheMs.
   */
  private readonly cache = new Map<string, { info: TokenInfo; until: number }>();

  constructor(private readonly redis: Redis, private readonly cacheMs = 1000) {}

  async create(role: Role, name?: string): Promise<{ token: string; info: TokenInfo }> {
    const { id, token } = newToken();
    return { token, info: await this.register(id, token, role, name) };
  }

  private async register(id: string, token: string, role: Role, name?: string): Promise<TokenInfo> {
    const info: TokenInfo = { id, role, createdAt: new Date().toISOString(), ...(name ? { name } : {}) };
    const h = hashToken(token);
    // Both keys or neither: a token that is listed is a token that works.
    await this.redis
      .multi()
      .set(K.byHash(h), id)
      .hset(K.info(id), { id, role, createdAt: info.createdAt, hash: h, ...(name ? { name } : {}) })
      .sadd(K.all, id)
      .exec();
    return info;
  }

  async verify(token: string): Promise<TokenInfo | undefined> {
    if (!/^fzt_[0-9a-f]{12}_[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
    const h = hashToken(token);
    const now = Date.now();
    const hit = this.cache.get(h);
    if (hit && hit.until > now) return hit.info;
    const id = await this.redis.get(K.byHash(h));
    if (!id) { this.cache.delete(h); return undefined; }
    const rec = await this.redis.hgetall(K.info(id));
    if (!rec.hash || !timingSafeEqual(Buffer.from(rec.hash), Buffer.from(h))) { this.cache.delete(h); return undefined; }
    const info = toInfo(rec);
    if (this.cacheMs > 0) {
      if (this.cache.size >= 1000) this.cache.clear();
      this.cache.set(h, { info, until: now + this.cacheMs });
    }
    return info;
  }

  /** The token's info when it was verified within the cache time (no Redis read). */
  cached(token: string): TokenInfo | undefined {
    const hit = this.cache.get(hashToken(token));
    return hit && hit.until > Date.now() ? hit.info : undefined;
  }

  async list(): Promise<TokenInfo[]> {
    const ids = (await this.redis.smembers(K.all)).sort();
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(K.info(id));
    const res = (await p.exec()) ?? [];
    return res
      .map(([, rec]) => rec as Record<string, string>)
      .filter((r) => r && r.id)
      .map(toInfo)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    const rec = await this.redis.hgetall(K.info(id));
    return rec.id ? toInfo(rec) : undefined;
  }

  async revoke(id: string): Promise<boolean> {
    const rec = await this.redis.hgetall(K.info(id));
    if (!rec.id) return false;
    await this.redis.multi().del(K.byHash(rec.hash)).del(K.info(id)).srem(K.all, id).exec();
    this.cache.delete(rec.hash);
    return true;
  }

  /**
   * First start: make an admin token and write it to `<dataDir>/admin-token` (0600).
   * A file whose token still verifies is kept. A file whose token is unknown to a Redis that
   * has no tokens at all (a fresh Redis) is registered again, so the file keeps working; on a
   * Redis that has tokens, a revoked file token stays revoked and a new one is written.
   */
  async ensureAdminToken(dataDir: string): Promise<{ file: string; created: boolean }> {
    const file = path.join(dataDir, 'admin-token');
    await fs.mkdir(dataDir, { recursive: true });
    let existing: string | undefined;
    try {
      existing = (await fs.readFile(file, 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (existing) {
      const info = await this.verify(existing);
      if (info && info.role === 'admin') return { file, created: false };
      const m = /^fzt_([0-9a-f]{12})_/.exec(existing);
      if (m && (await this.redis.scard(K.all)) === 0) {
        await this.register(m[1], existing, 'admin', 'bootstrap');
        return { file, created: false };
      }
    }
    const { token } = await this.create('admin', 'bootstrap');
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, token + '\n', { mode: 0o600 });
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, file);
    return { file, created: true };
  }
}

function toInfo(rec: Record<string, string>): TokenInfo {
  return { id: rec.id, role: rec.role as Role, createdAt: rec.createdAt, ...(rec.name ? { name: rec.name } : {}) };
}
