// Job records: what `GET /jobs/{id}` shows. BullMQ moves work; these records say, in words,
// what happened: state, progress, steps per device, a readable log, the result. Kept in the
// same Redis, written with pipelines so a record never shows a device done and its step not.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export interface JobStep { name: string; state: StepState; device?: string }
export interface JobLogEntry { at: string; message: string; device?: string }
export interface DeviceOutcome { state: StepState; progress: number; error?: string; result?: unknown; attempts?: number }

export interface JobView {
  id: string;
  type: string;
  fabric?: string;
  state: JobState;
  progress: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: JobStep[];
  log: JobLogEntry[];
  devices: Record<string, DeviceOutcome>;
  result?: unknown;
  error?: string;
  cancelRequested?: boolean;
  /** Tries of the parent job when it was retried (transient errors, a worker that died). */
  attempts?: number;
}

/** Share of progress taken by planning and by finalizing; devices share the rest. */
const PLAN_WEIGHT = 10;
const FINAL_WEIGHT = 10;
const LOG_CAP = 5_000;
/** Finished records stay this long. */
export const RECORD_TTL_S = 7 * 24 * 3600;
/** Every change to a record publishes the job id here, so live views (SSE) need not poll. */
export const JOB_CHANGED_CHANNEL = 'jobs:changed';

const K = {
  job: (id: string) => `job:${id}`,
  steps: (id: string) => `job:${id}:steps`,
  order: (id: string) => `job:${id}:order`,
  log: (id: string) => `job:${id}:log`,
  dev: (id: string) => `job:${id}:dev`,
  fabricJobs: (f: string) => `jobs:fabric:${f}`,
};

const stepField = (name: string, device?: string) => `${device ?? ''}|${name}`;

// KEYS: job, steps, dev, log; ARGV: channel, job id, then per device write: device, outcome JSON,
// log line ('' for none), the number F of step fields, F field/state pairs. Many devices' writes
// in one call (DeviceWriteBatcher), applied in order. Returns 1 when the runs must stop (the job
// is cancelled, or already final: then nothing is written).
const DEVICE_WRITE_LUA = `
local s = redis.call('HGET', KEYS[1], 'state')
if s == 'succeeded' or s == 'failed' or s == 'cancelled' then return 1 end
local steps, devs, logs = {}, {}, {}
local i = 3
while i <= #ARGV do
  devs[#devs + 1] = ARGV[i]
  devs[#devs + 1] = ARGV[i + 1]
  if ARGV[i + 2] ~= '' then logs[#logs + 1] = ARGV[i + 2] end
  local last = i + 3 + 2 * tonumber(ARGV[i + 3])
  for k = i + 4, last do steps[#steps + 1] = ARGV[k] end
  i = last + 1
end
if #steps > 0 then redis.call('HSET', KEYS[2], unpack(steps)) end
if #devs > 0 then redis.call('HSET', KEYS[3], unpack(devs)) end
if #logs > 0 then redis.call('RPUSH', KEYS[4], unpack(logs)) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 1 end
return 0`;

// KEYS: order, steps, dev, job; ARGV: channel, job id, step count S, S step names, then devices.
// Idempotent on re-plan: fields already in the order list are left as they are. One script, not
// a MULTI of three commands per device: 5,000 devices cost one command to send, not 15,000.
const DECLARE_LUA = `
local existing = {}
for _, f in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do existing[f] = true end
local ns = tonumber(ARGV[3])
local first = 4 + ns
for i = first, #ARGV do
  local d = ARGV[i]
  for k = 4, 3 + ns do
    local f = d .. '|' .. ARGV[k]
    if not existing[f] then
      redis.call('RPUSH', KEYS[1], f)
      redis.call('HSET', KEYS[2], f, 'queued')
    end
  end
  redis.call('HSETNX', KEYS[3], d, '{"state":"queued","progress":0}')
end
if not existing['|finalize'] then
  redis.call('RPUSH', KEYS[1], '|finalize')
  redis.call('HSET', KEYS[2], '|finalize', 'queued')
end
redis.call('HSET', KEYS[4], 'devices', tostring(#ARGV - first + 1))
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 0`;

/** A Lua script run by its SHA (EVALSHA: the body is sent once per Redis, not with every call). */
interface LuaScript { lua: string; sha: string }
const script = (lua: string): LuaScript => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const DEVICE_WRITE = script(DEVICE_WRITE_LUA);
const DECLARE = script(DECLARE_LUA);

async function runScript(redis: Redis, s: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (e) {
    // A Redis that restarted (or flushed its scripts) has not seen it yet: EVAL loads it.
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return redis.eval(s.lua, keys.length, ...keys, ...args);
  }
}

/** Values per device-write call at most: Lua's unpack takes ~8,000, and one call stays short. */
const MAX_WRITE_ARGS = 4_000;

interface PendingWrite { args: string[]; resolve: (stop: boolean) => void; reject: (e: unknown) => void }

/**
 * The device writes of one process, coalesced per job: the writes that arrive in the same turn
 * of the event loop, or while the job's previous call is in flight, go to Redis as one script
 * call (group commit). 100 device jobs at once cost a few calls, not 200 (each call's own cost,
 * EVALSHA plus the state and cancel reads, was most of the records' Redis time per device).
 * Every caller still waits for its own write, and learns from the same call whether to stop.
 */
class DeviceWriteBatcher {
  private readonly queued = new Map<string, PendingWrite[]>();
  private readonly busy = new Set<string>();

  constructor(private readonly redis: Redis) {}

  write(id: string, args: string[]): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let q = this.queued.get(id);
      if (!q) {
        this.queued.set(id, (q = []));
        // A call in flight sends this batch when it returns; else the next turn does.
        if (!this.busy.has(id)) setImmediate(() => this.flush(id));
      }
      q.push({ args, resolve, reject });
    });
  }

  private flush(id: string): void {
    const q = this.queued.get(id);
    if (!q || q.length === 0) { this.queued.delete(id); return; }
    let count = 0;
    let values = 0;
    while (count < q.length && (count === 0 || values + q[count].args.length <= MAX_WRITE_ARGS)) values += q[count++].args.length;
    const batch = q.splice(0, count);
    if (q.length === 0) this.queued.delete(id);
    this.busy.add(id);
    runScript(this.redis, DEVICE_WRITE, [K.job(id), K.steps(id), K.dev(id), K.log(id)], [JOB_CHANGED_CHANNEL, id, ...batch.flatMap((w) => w.args)])
      .then((res) => { for (const w of batch) w.resolve(res === 1); }, (e: unknown) => { for (const w of batch) w.reject(e); })
      .finally(() => {
        this.busy.delete(id);
        if (this.queued.has(id)) this.flush(id);
      });
  }
}

export class JobRecords {
  private readonly deviceWrites: DeviceWriteBatcher;

  constructor(readonly redis: Redis) {
    this.deviceWrites = new DeviceWriteBatcher(redis);
  }

  /** Writes a new record; a record that exists already is left as it is (returns false). */
  async create(id: string, type: string, fabric: string | undefined, params: unknown): Promise<boolean> {
    const now = new Date().toISOString();
    const r = await this.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
       redis.call('HSET', KEYS[1], 'id', ARGV[1], 'type', ARGV[2], 'state', 'queued', 'createdAt', ARGV[3], 'params', ARGV[4])
       if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'fabric', ARGV[5]); redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1]) end
       redis.call('RPUSH', KEYS[2], ARGV[7])
       redis.call('HSET', KEYS[3], ARGV[7], 'queued')
       redis.call('PUBLISH', ARGV[8], ARGV[1])
       return 1`,
      4, K.job(id), K.order(id), K.steps(id), K.fabricJobs(fabric ?? ''),
      id, type, now, JSON.stringify(params ?? {}), fabric ?? '', String(Date.now()), stepField('plan'), JOB_CHANGED_CHANNEL,
    );
    return r === 1;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(K.job(id))) === 1;
  }

  async params<T = Record<string, unknown>>(id: string): Promise<T> {
    const raw = await this.redis.hget(K.job(id), 'params');
    return (raw ? JSON.parse(raw) : {}) as T;
  }

  /** The params as stored, undefined when the record has none (gone, or never written). */
  async storedParams(id: string): Promise<Record<string, unknown> | undefined> {
    const raw = await this.redis.hget(K.job(id), 'params');
    return raw ? JSON.parse(raw) : undefined;
  }

  /** Replaces the params shown for a job (a follow-up's final device list). */
  async setParams(id: string, params: unknown): Promise<void> {
    await this.redis.hset(K.job(id), 'params', JSON.stringify(params ?? {}));
  }

  async state(id: string): Promise<JobState | undefined> {
    return ((await this.redis.hget(K.job(id), 'state')) ?? undefined) as JobState | undefined;
  }

  /** Running, on its `attempt`-th try (retries show in GET /jobs/{id} as `attempts`). */
  async setRunning(id: string, attempt = 1): Promise<void> {
    const p = this.redis.multi();
    p.hset(K.job(id), 'state', 'running', 'attempts', String(attempt));
    p.hsetnx(K.job(id), 'startedAt', new Date().toISOString());
    p.publish(JOB_CHANGED_CHANNEL, id);
    await p.exec();
  }

  async setStep(id: string, name: string, state: StepState, device?: string): Promise<void> {
    await this.redis.multi().hset(K.steps(id), stepField(name, device), state).publish(JOB_CHANGED_CHANNEL, id).exec();
  }

  /** Declares the device steps once planning knows the devices (idempotent on re-plan). */
  async declareDevices(id: string, devices: string[], stepNames: string[]): Promise<void> {
    await runScript(this.redis, DECLARE, [K.order(id), K.steps(id), K.dev(id), K.job(id)],
      [JOB_CHANGED_CHANNEL, id, stepNames.length, ...stepNames, ...devices]);
  }

  async log(id: string, message: string, device?: string): Promise<void> {
    const entry: JobLogEntry = { at: new Date().toISOString(), message, ...(device ? { device } : {}) };
    await this.redis.multi().rpush(K.log(id), JSON.stringify(entry)).ltrim(K.log(id), -LOG_CAP, -1).publish(JOB_CHANGED_CHANNEL, id).exec();
  }

  /**
   * Writes a device's state and step states (and a log line) unless the job is final: a run that
   * lost its BullMQ lock (Redis down longer than it) goes on while another run of the same device
   * job finishes the job, and must not rewrite a finished record (nor go on: it is told to stop,
   * as when cancelled).
   */
  private writeDevice(id: string, device: string, outcome: unknown, stepStates: Record<string, StepState>, logMessage?: string): Promise<boolean> {
    const args = [device, JSON.stringify(outcome), logMessage ? JSON.stringify({ at: new Date().toISOString(), message: logMessage, device }) : ''];
    const steps = Object.entries(stepStates);
    args.push(String(steps.length));
    for (const [s, st] of steps) args.push(stepField(s, device), st);
    return this.deviceWrites.write(id, args);
  }

  /** Step states and progress of a device; returns whether to stop: cancelled or already final (same round trip). */
  async deviceStep(id: string, device: string, stepStates: Record<string, StepState>, progress: number, logMessage?: string, attempt = 1): Promise<boolean> {
    return this.writeDevice(id, device, { state: 'running', progress, ...(attempt > 1 ? { attempts: attempt } : {}) }, stepStates, logMessage);
  }

  /** A device's final outcome, its steps' final states in the same transaction. */
  async deviceDone(id: string, device: string, outcome: DeviceOutcome, stepStates: Record<string, StepState>, logMessage: string): Promise<void> {
    await this.writeDevice(id, device, outcome, stepStates, logMessage);
  }

  async device(id: string, device: string): Promise<DeviceOutcome | undefined> {
    const raw = await this.redis.hget(K.dev(id), device);
    return raw ? JSON.parse(raw) : undefined;
  }

  async devices(id: string): Promise<Record<string, DeviceOutcome>> {
    const raw = await this.redis.hgetall(K.dev(id));
    const out: Record<string, DeviceOutcome> = {};
    for (const [d, v] of Object.entries(raw)) out[d] = JSON.parse(v);
    return out;
  }

  async requestCancel(id: string): Promise<void> {
    await this.redis.multi().hset(K.job(id), 'cancel', '1').publish(JOB_CHANGED_CHANNEL, id).exec();
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.redis.hget(K.job(id), 'cancel')) === '1';
  }

  /** Final state; returns false when the job already had one (finish happens once). */
  async finish(id: string, state: JobState, fields: { result?: unknown; error?: string; message?: string }): Promise<boolean> {
    const res = await this.redis.eval(
      `local s = redis.call('HGET', KEYS[1], 'state')
       if s == 'succeeded' or s == 'failed' or s == 'cancelled' then return 0 end
       redis.call('HSET', KEYS[1], 'state', ARGV[1], 'finishedAt', ARGV[2])
       if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[3]) end
       if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
       if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[5]) end
       for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
       redis.call('PUBLISH', ARGV[7], ARGV[8])
       return 1`,
      5, K.job(id), K.log(id), K.steps(id), K.order(id), K.dev(id),
      state, new Date().toISOString(),
      fields.result === undefined ? '' : JSON.stringify(fields.result),
      fields.error ?? '',
      fields.message ? JSON.stringify({ at: new Date().toISOString(), message: fields.message }) : '',
      String(RECORD_TTL_S), JOB_CHANGED_CHANNEL, id,
    );
    return res === 1;
  }

  async get(id: string, opts: { logLimit?: number } = {}): Promise<JobView | undefined> {
    const p = this.redis.pipeline();
    p.hgetall(K.job(id));
    p.lrange(K.order(id), 0, -1);
    p.hgetall(K.steps(id));
    p.lrange(K.log(id), -(opts.logLimit ?? 1000), -1);
    p.hgetall(K.dev(id));
    const res = await p.exec();
    if (!res) return undefined;
    const h = res[0][1] as Record<string, string>;
    if (!h || !h.id) return undefined;
    const order = res[1][1] as string[];
    const stepStates = res[2][1] as Record<string, string>;
    const log = (res[3][1] as string[]).map((s) => JSON.parse(s) as JobLogEntry);
    const devRaw = res[4][1] as Record<string, string>;
    const devices: Record<string, DeviceOutcome> = {};
    for (const [d, v] of Object.entries(devRaw)) devices[d] = JSON.parse(v);
    const steps: JobStep[] = order.map((f) => {
      const bar = f.indexOf('|');
      const device = f.slice(0, bar);
      return { name: f.slice(bar + 1), state: (stepStates[f] ?? 'queued') as StepState, ...(device ? { device } : {}) };
    });
    const state = h.state as JobState;
    return {
      id: h.id,
      type: h.type,
      ...(h.fabric ? { fabric: h.fabric } : {}),
      state,
      progress: progressOf(state, stepStates, devices),
      createdAt: h.createdAt,
      ...(h.startedAt ? { startedAt: h.startedAt } : {}),
      ...(h.finishedAt ? { finishedAt: h.finishedAt } : {}),
      steps,
      log,
      devices,
      ...(h.result ? { result: JSON.parse(h.result) } : {}),
      ...(h.error ? { error: h.error } : {}),
      ...(h.cancel === '1' ? { cancelRequested: true } : {}),
      ...(Number(h.attempts) > 1 ? { attempts: Number(h.attempts) } : {}),
    };
  }

  async listForFabric(fabric: string, limit = 50): Promise<string[]> {
    return this.redis.zrevrange(K.fabricJobs(fabric), 0, limit - 1);
  }
}

/** 0-100: planning 10, devices 80 shared equally (each by its weighted steps), finalizing 10. */
export function progressOf(state: JobState, steps: Record<string, string>, devices: Record<string, DeviceOutcome>): number {
  if (state === 'succeeded') return 100;
  const done = (s: string | undefined) => s === 'succeeded' || s === 'failed' || s === 'skipped' || s === 'cancelled';
  let p = done(steps[stepField('plan')]) ? PLAN_WEIGHT : 0;
  const names = Object.keys(devices);
  if (names.length > 0) {
    let sum = 0;
    for (const d of names) sum += devices[d].state === 'running' || devices[d].state === 'queued' ? devices[d].progress : 1;
    p += (100 - PLAN_WEIGHT - FINAL_WEIGHT) * (sum / names.length);
  } else if (done(steps[stepField('plan')])) {
    p += 100 - PLAN_WEIGHT - FINAL_WEIGHT;
  }
  if (done(steps[stepField('finalize')])) p += FINAL_WEIGHT;
  return Math.min(100, Math.floor(p));
}

/** The store's fabric lock (src/store): the same key the store checks before deleting a fabric. */
export interface LockBackend {
  acquireFabricLock(f: string, jobId: string, ttlMs: number): Promise<{ ok: true } | { ok: false; heldBy: string }>;
  refreshFabricLock(f: string, jobId: string, ttlMs: number): Promise<boolean>;
  releaseFabricLock(f: string, jobId: string): Promise<boolean>;
  getFabricLock(f: string): Promise<string | null>;
}

/** One fabric-level job at a time: a lock with a TTL the workers keep extending while the job lives. */
export class FabricLock {
  constructor(private readonly backend: LockBackend, readonly ttlMs = 60_000) {}

  /** Returns undefined when acquired, else the id of the job holding the lock. */
  async acquire(fabric: string, jobId: string): Promise<string | undefined> {
    const r = await this.backend.acquireFabricLock(fabric, jobId, this.ttlMs);
    return r.ok ? undefined : r.heldBy;
  }

  async holder(fabric: string): Promise<string | undefined> {
    return (await this.backend.getFabricLock(fabric)) ?? undefined;
  }

  async extend(fabric: string, jobId: string): Promise<boolean> {
    return this.backend.refreshFabricLock(fabric, jobId, this.ttlMs);
  }

  async release(fabric: string, jobId: string): Promise<boolean> {
    return this.backend.releaseFabricLock(fabric, jobId);
  }
}
