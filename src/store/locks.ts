// The fabric lock: one fabric-level job at a time. SET NX PX with the job id as holder, so a
// SIGKILLed worker's lock expires; refresh and release compare the holder in Lua. deleteFabric
// checks the lock inside its commit (Tx.absent).
import type { LockResult } from './types';
import type { StoreCore } from './core';
import { defineScript } from './core';

const LOCK_ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, ARGV[1]} end
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {1, cur} end
return {0, cur}
`;
const LOCK_REFRESH_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
`;
const LOCK_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

export class FabricLocks {
  private readonly acquire;
  private readonly refresh;
  private readonly release;

  constructor(private readonly core: StoreCore) {
    this.acquire = defineScript(core.redis, 'fzLockAcquire', LOCK_ACQUIRE_LUA);
    this.refresh = defineScript(core.redis, 'fzLockRefresh', LOCK_REFRESH_LUA);
    this.release = defineScript(core.redis, 'fzLockRelease', LOCK_RELEASE_LUA);
  }

  /**
   * One fabric-level job at a time. The lock expires after `ttlMs` unless refreshed, so a
   * SIGKILLed worker's lock goes away. Re-acquiring with the same job id refreshes it.
   */
  async acquireFabricLock(f: string, jobId: string, ttlMs: number): Promise<LockResult> {
    const r = await this.acquire(1, this.core.keys.lock(f), jobId, Math.max(1, Math.round(ttlMs))) as [number, string];
    return r[0] === 1 ? { ok: true } : { ok: false, heldBy: r[1] };
  }
  /** Extends the TTL; false when the lock is no longer ours (expired or taken). */
  async refreshFabricLock(f: string, jobId: string, ttlMs: number): Promise<boolean> {
    return (await this.refresh(1, this.core.keys.lock(f), jobId, Math.max(1, Math.round(ttlMs)))) === 1;
  }
  /** Releases only when `jobId` holds it. */
  async releaseFabricLock(f: string, jobId: string): Promise<boolean> {
    return (await this.release(1, this.core.keys.lock(f), jobId)) === 1;
  }
  async getFabricLock(f: string): Promise<string | null> {
    return this.core.redis.get(this.core.keys.lock(f));
  }
}
