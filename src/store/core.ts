// The store's transaction core: every write that touches a fabric's inventory (fabric record,
// devices, links, ports, allocations, services) goes through here.
//
// Consistency model: optimistic. Read a snapshot together with the fabric's version counter,
// compute the new state in Node (pure domain/intent functions), then commit every key change in
// ONE Lua script that first checks the version is unchanged. The script is atomic, so a crash
// before it leaves nothing and a crash after it leaves everything; a concurrent writer in
// another process makes the check fail and we retry (bounded). Field-level writes (mutateFine)
// check the hash fields they read instead of the version. Scripts run on the shared connection,
// so unlike WATCH nothing is tied to a connection and many operations can be in flight at once
// in one process.
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Allocations, FabricFile } from '../domain/types';
import type { DeviceRecord, FabricRecord, FabricServices, LinkInput, NewEvent, PortRecord } from './types';
import { locked, notFound, StoreError } from './errors';
import { AllocateFn, defaultAllocate, defaultValidate, emptyAllocations, parseFile, ValidateFn } from './domain';
import { StoreKeys } from './keys';
import { emptyServices, eventFields, mapOf, type Snapshot } from './model';

export interface StoreHooks {
  /**
   * Called after the snapshot was read and the new state computed, right before the atomic
   * commit. Tests use it as a barrier to kill a process mid-write.
   */
  beforeCommit?: (info: { op: string; fabric: string; attempt: number }) => Promise<void> | void;
}

export interface StoreOptions {
  /** 32-byte AES-256-GCM key (see loadSecretKey). */
  secretKey: Buffer;
  /** Key prefix; default `fz:`. */
  prefix?: string;
  /** Default: H1's allocate() from src/intent/allocate. */
  allocate?: AllocateFn;
  /** Default: H1's validateFabric() from src/domain/validate. */
  validate?: ValidateFn;
  hooks?: StoreHooks;
  /** Optimistic retries before a 'contention' error. Default 200. */
  maxAttempts?: number;
}

// KEYS[1] version, KEYS[2] idempotency marker of this attempt, KEYS[3..] keys of the ops.
// ARGV[1] expected version ('*' = any: field-level writes check the fields they read instead),
// ARGV[2] JSON {c: conditions, o: ops}.
// Returns {1, newVersion} | {0, currentVersion} (conflict) | {2} (already applied) | {-1, holder} (locked).
const COMMIT_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {2, ''} end
local ver = redis.call('GET', KEYS[1]) or '0'
if ARGV[1] ~= '*' and ver ~= ARGV[1] then return {0, ver} end
local spec = cjson.decode(ARGV[2])
for _, c in ipairs(spec.c) do
  if c[1] == 'absent' then
    local v = redis.call('GET', KEYS[c[2]])
    if v then return {-1, v} end
  elseif c[1] == 'heq' then
    if redis.call('HGET', KEYS[c[2]], c[3]) ~= c[4] then return {0, ver} end
  elseif c[1] == 'hnil' then
    if redis.call('HEXISTS', KEYS[c[2]], c[3]) == 1 then return {0, ver} end
  end
end
for _, op in ipairs(spec.o) do
  if op[1] == 'DCHG' then
    -- Device-list change log: bump dver, note each written device at the new version,
    -- keep the newest 10,000 and remember the highest version trimmed (readers below it reload all).
    local v = redis.call('INCR', KEYS[op[2]])
    local z = KEYS[tonumber(op[3])]
    for i = 5, #op do redis.call('ZADD', z, v, op[i]) end
    local n = redis.call('ZCARD', z)
    if n > 10000 then
      local cut = redis.call('ZRANGE', z, n - 10001, n - 10001, 'WITHSCORES')
      redis.call('SET', KEYS[tonumber(op[4])], cut[2])
      redis.call('ZREMRANGEBYRANK', z, 0, n - 10001)
    end
  else
    local args = {}
    for i = 3, #op do args[#args + 1] = op[i] end
    redis.call(op[1], KEYS[op[2]], unpack(args))
  end
end
redis.call('SET', KEYS[2], '1', 'EX', 120)
return {1, tostring(redis.call('INCR', KEYS[1]))}
`;

type Cmd = (...args: (string | number)[]) => Promise<unknown>;
const HSET_CHUNK = 500; // fields per HSET: Lua unpack() has a stack limit (~8000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One atomic commit being built: key changes plus conditions. */
export class Tx {
  readonly keys: string[] = [];
  private readonly idx = new Map<string, number>();
  readonly ops: string[][] = [];
  readonly conds: (string | number)[][] = [];
  /**
   * Set when the write changes what intent compiles: bumps the intent version and drops the
   * intended-config cache. State/fact-only writes (managedState, osVersion, ports) clear it.
   */
  inventory = true;

  private k(key: string): number {
    let i = this.idx.get(key);
    if (i === undefined) { this.keys.push(key); i = this.keys.length + 2; this.idx.set(key, i); }
    return i;
  }
  op(cmd: string, key: string, ...args: (string | number)[]): void {
    this.written.add(key);
    (this.ops as unknown[][]).push([cmd, this.k(key), ...args.map(String)]);
  }
  hsetMany(key: string, entries: [string, string][]): void {
    for (let i = 0; i < entries.length; i += HSET_CHUNK) {
      this.op('HSET', key, ...entries.slice(i, i + HSET_CHUNK).flat());
    }
  }
  hdelMany(key: string, fields: string[]): void {
    for (let i = 0; i < fields.length; i += HSET_CHUNK) this.op('HDEL', key, ...fields.slice(i, i + HSET_CHUNK));
  }
  private readonly written = new Set<string>();
  touches(key: string): boolean { return this.written.has(key); }
  /** Hash fields written (HSET/HDEL) to `key`; '*' when the whole key was deleted. */
  fieldsWritten(key: string): string[] {
    const i = this.idx.get(key);
    const out = new Set<string>();
    for (const op of this.ops) {
      if ((op[1] as unknown as number) !== i) continue;
      if (op[0] === 'HSET') for (let j = 2; j < op.length; j += 2) out.add(op[j]);
      else if (op[0] === 'HDEL') for (let j = 2; j < op.length; j++) out.add(op[j]);
      else out.add('*');
    }
    return [...out];
  }
  /** The Lua-side device change-log op (see COMMIT_LUA). */
  dchg(verKey: string, logKey: string, floorKey: string, names: string[]): void {
    const v = this.k(verKey); const z = this.k(logKey); const fl = this.k(floorKey);
    (this.ops as unknown[][]).push(['DCHG', v, String(z), String(fl), ...names]);
  }
  absent(key: string): void { this.conds.push(['absent', this.k(key)]); }
  /** The commit applies only if hash field `key[field]` still holds `value` (null: absent). */
  fieldIs(key: string, field: string, value: string | null): void {
    this.conds.push(value === null ? ['hnil', this.k(key), field] : ['heq', this.k(key), field, value]);
  }
  get empty(): boolean { return this.ops.length === 0; }
}

export type FieldRead = (fields: [string, string][]) => Promise<(string | null)[]>;

/** The shared machinery every aggregate writes through (one per Store). */
export class StoreCore {
  readonly keys: StoreKeys;
  /** Optimistic commits done and version conflicts retried (by this instance). */
  readonly stats = { commits: 0, conflicts: 0 };
  private readonly hooks: StoreHooks;
  private readonly maxAttempts: number;
  private allocateFn?: AllocateFn;
  private validateFn?: ValidateFn;
  private readonly commitScript: Cmd;

  constructor(readonly redis: Redis, readonly secretKey: Buffer, opts: Omit<StoreOptions, 'secretKey'>) {
    this.keys = new StoreKeys(opts.prefix ?? 'fz:');
    this.hooks = opts.hooks ?? {};
    this.maxAttempts = opts.maxAttempts ?? 200;
    this.allocateFn = opts.allocate;
    this.validateFn = opts.validate;
    this.commitScript = defineScript(redis, 'fzCommit', COMMIT_LUA);
  }

  allocate(file: FabricFile, existing: Allocations): Allocations {
    this.allocateFn ??= defaultAllocate();
    return this.allocateFn(file, existing);
  }
  validate(file: FabricFile): void {
    this.validateFn ??= defaultValidate();
    this.validateFn(file);
  }
  /** Validates a fabric file built from records the way a fabric file from a user is (parse first). */
  validateFile(file: FabricFile): void {
    this.validate(parseFile(JSON.parse(JSON.stringify(file))));
  }

  /**
   * One pipeline read of what snapshot writes need. Ports, host keys and needsConfig markers are
   * read only for `deviceExtras` (rename moves them): after discovery, ports are the bulk of a
   * fabric and no other snapshot write needs them.
   */
  async readSnapshot(f: string, deviceExtras?: string): Promise<Snapshot> {
    const k = this.keys;
    // The version is read FIRST in the pipeline: a write landing between it and the other reads
    // bumps the version, so the commit's check fails and we retry with a fresh snapshot.
    const p = this.redis.pipeline()
      .get(k.fabric(f, 'ver'))
      .hget(k.fabrics, f)
      .hgetall(k.fabric(f, 'devices'))
      .hgetall(k.fabric(f, 'links'))
      .get(k.fabric(f, 'alloc'))
      .hgetall(k.fabric(f, 'serials'))
      .get(k.fabric(f, 'services'))
      .get(k.fabric(f, 'iver'));
    if (deviceExtras !== undefined) {
      p.hget(k.fabric(f, 'ports'), deviceExtras).hget(k.fabric(f, 'hostkeys'), deviceExtras).sismember(k.fabric(f, 'needs'), deviceExtras);
    }
    const v = await execValues(p);
    const snap: Snapshot = {
      version: (v[0] as string | null) ?? '0',
      fabric: v[1] ? JSON.parse(v[1] as string) as FabricRecord : undefined,
      devices: mapOf<DeviceRecord>(v[2] as Record<string, string>),
      links: mapOf<LinkInput>(v[3] as Record<string, string>),
      alloc: v[4] ? JSON.parse(v[4] as string) as Allocations : emptyAllocations(),
      serials: new Map(Object.entries((v[5] as Record<string, string>) ?? {})),
      services: v[6] ? JSON.parse(v[6] as string) as FabricServices : emptyServices(),
      intentVersion: Number((v[7] as string | null) ?? 0),
      ports: new Map(),
      hostKeys: new Map(),
      needs: new Set(),
    };
    if (deviceExtras !== undefined) {
      if (v[8]) snap.ports.set(deviceExtras, JSON.parse(v[8] as string) as PortRecord[]);
      if (v[9]) snap.hostKeys.set(deviceExtras, v[9] as string);
      if (v[10] === 1) snap.needs.add(deviceExtras);
    }
    return snap;
  }

  private async commit(f: string, version: string, tx: Tx): Promise<{ status: 'ok' | 'dup' | 'conflict' } | { status: 'locked'; holder: string }> {
    const k = this.keys;
    if (tx.inventory) { tx.op('DEL', k.fabric(f, 'intended')); tx.op('INCR', k.fabric(f, 'iver')); }
    if (tx.touches(k.fabric(f, 'devices'))) {
      tx.dchg(k.fabric(f, 'dver'), k.fabric(f, 'dchg'), k.fabric(f, 'dfloor'), tx.fieldsWritten(k.fabric(f, 'devices')));
    }
    const keys = [k.fabric(f, 'ver'), k.op(randomUUID()), ...tx.keys];
    const spec = JSON.stringify({ c: tx.conds.length ? tx.conds : {}, o: tx.ops.length ? tx.ops : {} });
    const res = await this.commitScript(keys.length, ...keys, version, spec) as [number, string];
    switch (res[0]) {
      case 1: return { status: 'ok' };
      case 2: return { status: 'dup' };
      case -1: return { status: 'locked', holder: res[1] };
      default: return { status: 'conflict' };
    }
  }

  /**
   * Read-compute-commit with bounded optimistic retries. `fn` reads the snapshot, throws on
   * bad input (nothing written), and records its writes (and events) in the Tx. `extra` is read
   * after the snapshot on every attempt: a key every writer changes only together with the
   * version (the secrets) is then never older than the snapshot it is merged with.
   */
  async mutate<T, E = undefined>(f: string, op: string, fn: (s: Snapshot, tx: Tx, extra: E) => T, deviceExtras?: string, extra?: () => Promise<E>): Promise<T> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const snap = await this.readSnapshot(f, deviceExtras);
      const ex = (extra ? await extra() : undefined) as E;
      const tx = new Tx();
      const result = fn(snap, tx, ex);
      if (tx.empty && tx.conds.length === 0) return result;
      if (this.hooks.beforeCommit) await this.hooks.beforeCommit({ op, fabric: f, attempt });
      const c = await this.commit(f, snap.version, tx);
      if (c.status === 'ok' || c.status === 'dup') { this.stats.commits++; return result; }
      if (c.status === 'locked') throw locked(f, c.holder);
      this.stats.conflicts++;
      // Jittered, capped backoff: concurrent writers on one fabric spread out instead of colliding again.
      await sleep(Math.random() * Math.min(2 + attempt * 2, 50));
    }
    throw new StoreError('contention', `fabric ${f}: ${op} gave up after ${this.maxAttempts} conflicting attempts; retry later`);
  }

  /**
   * Field-level optimistic write for the hot per-device paths (discovery upserts, state changes,
   * ports): `read` fetches hash fields and records them as commit conditions, so concurrent
   * writes to different devices never collide, and a write to the same fields retries.
   */
  async mutateFine<T>(f: string, op: string, fn: (read: FieldRead, tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const tx = new Tx();
      const read: FieldRead = async (fields) => {
        const p = this.redis.pipeline();
        for (const [k, fl] of fields) p.hget(k, fl);
        const res = (await p.exec()) ?? [];
        return res.map(([err, v], i) => {
          if (err) throw err;
          tx.fieldIs(fields[i][0], fields[i][1], (v as string | null) ?? null);
          return (v as string | null) ?? null;
        });
      };
      const result = await fn(read, tx);
      if (tx.empty) return result;
      if (this.hooks.beforeCommit) await this.hooks.beforeCommit({ op, fabric: f, attempt });
      const c = await this.commit(f, '*', tx);
      if (c.status === 'ok' || c.status === 'dup') { this.stats.commits++; return result; }
      if (c.status === 'locked') throw locked(f, c.holder);
      this.stats.conflicts++;
      await sleep(Math.random() * Math.min(2 + attempt * 2, 50));
    }
    throw new StoreError('contention', `fabric ${f}: ${op} gave up after ${this.maxAttempts} conflicting attempts; retry later`);
  }

  /** An event appended in the same commit as the change it records. */
  event(tx: Tx, f: string, ev: NewEvent): void {
    tx.op('XADD', this.keys.fabric(f, 'events'), '*', ...eventFields(ev));
  }

  /** A fabric's one-JSON-record part (allocations, services), `empty()` when unset; not_found without the fabric. */
  async fabricJson<T>(f: string, part: 'alloc' | 'services', empty: () => T): Promise<T> {
    const [ex, v] = await Promise.all([this.redis.hexists(this.keys.fabrics, f), this.redis.get(this.keys.fabric(f, part))]);
    if (!ex) throw notFound(`fabric ${f}`);
    return v ? JSON.parse(v) as T : empty();
  }

  need(s: Snapshot, f: string): FabricRecord {
    if (!s.fabric) throw notFound(`fabric ${f}`);
    return s.fabric;
  }

  device(s: Snapshot, f: string, d: string): DeviceRecord {
    this.need(s, f);
    const dev = s.devices.get(d);
    if (!dev) throw notFound(`device ${d} in fabric ${f}`);
    return dev;
  }
}

/** Registers a Lua script on the connection once (every Store on it shares the command). */
export function defineScript(redis: Redis, name: string, lua: string): Cmd {
  if (!(name in redis)) redis.defineCommand(name, { lua });
  const fn = (redis as unknown as Record<string, Cmd>)[name];
  return (...args) => fn.apply(redis, args);
}

/** The values of a pipeline (or MULTI), throwing its first error. */
export async function execValues(p: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const res = await p.exec();
  if (!res) throw new Error('redis pipeline returned nothing');
  for (const [err] of res) if (err) throw err;
  return res.map(([, x]) => x);
}
