// Follow-up jobs: an intent change made while a fabric job runs is stored at once and its push
// waits as ONE pending job per fabric; further changes merge their devices into it (coalescing).
// The pending job starts as soon as the fabric lock is free. Redis keys (BullMQ's connection):
//   jobs:followup:<f>          hash {id, type, params}
//   jobs:followup:<f>:devices  set of device names
//   jobs:followups             fabrics that have one (the lock keeper's safety net)
import type { Redis } from 'ioredis';

const K = {
  hash: (f: string) => `jobs:followup:${f}`,
  devices: (f: string) => `jobs:followup:${f}:devices`,
  index: 'jobs:followups',
};

// KEYS hash, devices, index. ARGV id-if-new, type, params JSON, fabric, devices...
// Returns {id, 1} when a new follow-up was made, {id, 0} when merged into the pending one.
const MERGE_LUA = `
local id = redis.call('HGET', KEYS[1], 'id')
local created = 0
if not id then
  id = ARGV[1]
  redis.call('HSET', KEYS[1], 'id', id, 'type', ARGV[2], 'params', ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  created = 1
end
for i = 5, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return {id, created}
`;

// KEYS hash, devices. ARGV expected id. Returns {type, params, devices...} and deletes, or nil.
const TAKE_LUA = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return nil end
local out = {redis.call('HGET', KEYS[1], 'type'), redis.call('HGET', KEYS[1], 'params')}
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do out[#out + 1] = d end
redis.call('DEL', KEYS[1], KEYS[2])
return out
`;

export interface PendingFollowUp { id: string; type: string; params: Record<string, unknown>; devices: string[] }

export class FollowUps {
  constructor(private readonly redis: Redis) {}

  /** Adds `devices` to the fabric's pending follow-up (made with `newId` when there is none). */
  async merge(fabric: string, newId: string, type: string, params: Record<string, unknown>, devices: string[]): Promise<{ id: string; created: boolean }> {
    const r = await this.redis.eval(MERGE_LUA, 3, K.hash(fabric), K.devices(fabric), K.index,
      newId, type, JSON.stringify(params), fabric, ...devices) as [string, number];
    return { id: r[0], created: r[1] === 1 };
  }

  async pendingId(fabric: string): Promise<string | undefined> {
    return (await this.redis.hget(K.hash(fabric), 'id')) ?? undefined;
  }

  /** What the follow-up `id` holds, without taking it. */
  async peek(fabric: string, id: string): Promise<PendingFollowUp | undefined> {
    const [h, devices] = await Promise.all([this.redis.hgetall(K.hash(fabric)), this.redis.smembers(K.devices(fabric))]);
    if (h.id !== id) return undefined;
    return { id, type: h.type, params: JSON.parse(h.params ?? '{}') as Record<string, unknown>, devices: devices.sort() };
  }

  /** Removes the follow-up when it is still `id`; returns what it held. */
  async take(fabric: string, id: string): Promise<PendingFollowUp | undefined> {
    const r = await this.redis.eval(TAKE_LUA, 2, K.hash(fabric), K.devices(fabric), id) as string[] | null;
    if (!r) return undefined;
    const [type, params, ...devices] = r;
    return { id, type, params: JSON.parse(params) as Record<string, unknown>, devices: devices.sort() };
  }

  async fabrics(): Promise<string[]> {
    return this.redis.smembers(K.index);
  }

  /** Drops the index entry of a fabric whose follow-up is gone. */
  async forget(fabric: string): Promise<void> {
    await this.redis.eval("if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end return 1", 2, K.hash(fabric), K.index, fabric);
  }
}
