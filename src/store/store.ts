// The service's persistent store on Redis (ioredis). Key layout: docs/store.md.
//
// Consistency model: every write that touches a fabric's inventory (fabric record, devices,
// links, ports, allocations, services) is optimistic: read a snapshot together with the
// fabric's version counter, compute the new state in Node (pure domain/intent functions),
// then commit every key change in ONE Lua script that first checks the version is unchanged.
// The script is atomic, so a crash before it leaves nothing and a crash after it leaves
// everything; a concurrent writer in another process makes the check fail and we retry
// (bounded). Scripts run on the shared connection, so unlike WATCH nothing is tied to a
// connection and many operations can be in flight at once in one process.
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type {
  Allocations, DeviceSpec, FabricFile, LinkEnd, LinkSpec, PhysicalRole, SnmpSettings,
} from '../domain/types';
import { linkKey, PHYSICAL_ROLES } from '../domain/types';
import {
  Actor, ConfigCommit, DeviceDetail, DevicePatch, DeviceRecord, DiscoveredDevice, EventRecord,
  FabricRecord, FabricSecrets, FabricServices, FabricUpdate, HostKeyStore, IntendedConfig, Inventory,
  JobLogLine, JobRecord, JobState, JobStep, JobUpdate, JOB_STATES, LinkInput, LinkRecord, LockResult,
  MANAGED_STATES, NewDevice, NewEvent, NewJob, ONBOARDING_STATES, PortRecord, ReplaceLinksResult,
  SnmpPublic, StepState,
} from './types';
import { conflict, invalid, locked, notFound, StoreError } from './errors';
import { decrypt, encrypt, redactSecrets } from './secrets';
import { AllocateFn, defaultAllocate, defaultValidate, emptyAllocations, parseFile, ValidateFn } from './domain';
import { duplicateAllocation, managementIpProblem, NAME_RE, orphanedAllocation, sameAllocations } from './checks';

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
  /** Log lines kept per job (oldest dropped). Default 10,000. */
  maxJobLog?: number;
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
// KEYS[1] job hash. ARGV[1] new state or '', ARGV[2] now, ARGV[3..] field/value pairs.
// A finished job (succeeded/failed/cancelled) is frozen: returns 0 and changes nothing.
const JOB_UPDATE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'state')
if not cur then return -1 end
if cur == 'succeeded' or cur == 'failed' or cur == 'cancelled' then return 0 end
local s = ARGV[1]
if s ~= '' then
  redis.call('HSET', KEYS[1], 'state', s)
  if s == 'running' then redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[2]) end
  if s == 'succeeded' or s == 'failed' or s == 'cancelled' then redis.call('HSET', KEYS[1], 'finishedAt', ARGV[2]) end
end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;
// KEYS job, all-jobs index, fabric-jobs index, steps, step order. ARGV[1] score, ARGV[2] n,
// ARGV[3..2+n] field/value pairs, then step field/JSON pairs. Refuses an existing id (returns 0).
const JOB_CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[2])
for i = 3, 2 + n, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], 'id'))
redis.call('ZADD', KEYS[3], ARGV[1], redis.call('HGET', KEYS[1], 'id'))
local o = 0
for i = 3 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[5], ARGV[i], o)
  o = o + 1
end
return 1
`;
// KEYS[1] steps, KEYS[2] step order, KEYS[3] job hash. ARGV[1] field, ARGV[2] JSON.
const JOB_STEP_LUA = `
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then redis.call('HSET', KEYS[2], ARGV[1], redis.call('HLEN', KEYS[2])) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;
// KEYS[1] version, KEYS[2] intended hash. ARGV[1] expected version, ARGV[2] field, ARGV[3] JSON.
const INTENDED_SET_LUA = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

type Cmd = (...args: (string | number)[]) => Promise<unknown>;
interface Scripted {
  fzCommit: Cmd; fzLockAcquire: Cmd; fzLockRefresh: Cmd; fzLockRelease: Cmd;
  fzJobUpdate: Cmd; fzJobStep: Cmd; fzJobCreate: Cmd; fzIntendedSet: Cmd;
}

const REDACTED = '<redacted>';
const HSET_CHUNK = 500; // fields per HSET: Lua unpack() has a stack limit (~8000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => new Date().toISOString();

/** One atomic commit being built: key changes plus conditions. */
class Tx {
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

interface DeviceListEntry {
  ver: string | null;
  raw: string[];
  records: DeviceRecord[];
  /** name -> position in raw/records (sorted by name) */
  index: Map<string, number>;
  json?: string;
}

interface Snapshot {
  version: string;
  fabric?: FabricRecord;
  devices: Map<string, DeviceRecord>;
  links: Map<string, LinkInput>;
  alloc: Allocations;
  serials: Map<string, string>;
  services: FabricServices;
  /** Only the deviceExtras device's (see readSnapshot). */
  ports: Map<string, PortRecord[]>;
  hostKeys: Map<string, string>;
  needs: Set<string>;
  /** Bumped only by writes that change what intent compiles. */
  intentVersion: number;
}

function emptyServices(): FabricServices {
  return { virtualNetworks: [], logicalRouters: [], servers: [], vpgs: [] };
}

function snmpPublic(s: SnmpSettings | undefined | null): SnmpPublic | null {
  if (!s) return null;
  return 'v3' in s ? { version: 'v3', user: s.v3.user } : { version: 'v2c' };
}

function snmpRedacted(s: SnmpPublic | null): SnmpSettings | undefined {
  if (!s) return undefined;
  return s.version === 'v3' ? { v3: { user: s.user, authKey: REDACTED, privKey: REDACTED } } : { community: REDACTED };
}

function mapOf<T>(h: Record<string, string> | null | undefined): Map<string, T> {
  const m = new Map<string, T>();
  for (const [k, v] of Object.entries(h ?? {})) m.set(k, JSON.parse(v) as T);
  return m;
}

function endText(e: LinkEnd): string { return `${e.device}:${e.port}`; }

function checkName(kind: string, name: unknown, path: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(`${path}: ${kind} name ${JSON.stringify(name)} must be 1-63 of letters, digits, '.', '_', '-' (starting with a letter or digit)`, path);
  }
  return name;
}

function sameJson(a: unknown, b: unknown): boolean { return JSON.stringify(a) === JSON.stringify(b); }

/** The device as a DeviceSpec, when it has what intent needs (profile and physical role). */
function specOf(d: DeviceRecord): DeviceSpec | undefined {
  if (!d.profile || !d.physicalRole) return undefined;
  const s: DeviceSpec = { name: d.name, profile: d.profile, physicalRole: d.physicalRole, roles: [...d.roles] };
  if (d.serial) s.serial = d.serial;
  if (d.managementIp) s.managementIp = d.managementIp;
  if (d.model) s.model = d.model;
  return s;
}

/** Cached records are shared between callers: freeze them so a caller's edit fails loudly. */
function frozen(d: DeviceRecord): DeviceRecord {
  Object.freeze(d.roles);
  return Object.freeze(d);
}

/** What intent compiles from a device (render/intent read no serial, model or management address). */
function intentOf(d: DeviceRecord | undefined): unknown {
  const s = d && specOf(d);
  return s ? [s.name, s.profile, s.physicalRole, s.roles] : undefined;
}

export class Store {
  readonly prefix: string;
  private readonly key: Buffer;
  private readonly hooks: StoreHooks;
  private readonly maxAttempts: number;
  private readonly maxJobLog: number;
  private allocateFn?: AllocateFn;
  private validateFn?: ValidateFn;
  private readonly r: Redis & Scripted;
  /** Optimistic commits done and version conflicts retried (by this instance). */
  readonly stats = { commits: 0, conflicts: 0 };
  private readonly devCache = new Map<string, DeviceListEntry>();

  constructor(readonly redis: Redis, opts: StoreOptions) {
    if (!Buffer.isBuffer(opts.secretKey) || opts.secretKey.length !== 32) throw new Error('Store: secretKey must be 32 bytes');
    this.key = opts.secretKey;
    this.prefix = opts.prefix ?? 'fz:';
    this.hooks = opts.hooks ?? {};
    this.maxAttempts = opts.maxAttempts ?? 200;
    this.maxJobLog = opts.maxJobLog ?? 10_000;
    this.allocateFn = opts.allocate;
    this.validateFn = opts.validate;
    const defs: [keyof Scripted, string][] = [
      ['fzCommit', COMMIT_LUA], ['fzLockAcquire', LOCK_ACQUIRE_LUA], ['fzLockRefresh', LOCK_REFRESH_LUA],
      ['fzLockRelease', LOCK_RELEASE_LUA], ['fzJobUpdate', JOB_UPDATE_LUA], ['fzJobStep', JOB_STEP_LUA], ['fzJobCreate', JOB_CREATE_LUA],
      ['fzIntendedSet', INTENDED_SET_LUA],
    ];
    for (const [name, lua] of defs) {
      if (!(name in redis)) redis.defineCommand(name, { lua });
    }
    this.r = redis as Redis & Scripted;
  }

  // ----------------------------------------------------------------------------- keys
  private fk(f: string, part: string): string { return `${this.prefix}f:${f}:${part}`; }
  private get fabricsKey(): string { return `${this.prefix}fabrics`; }
  private lockKey(f: string): string { return `${this.prefix}lock:${f}`; }
  private jobKey(id: string, part = ''): string { return `${this.prefix}job:${id}${part ? `:${part}` : ''}`; }
  private cfgKey(f: string, deviceId: string): string { return this.fk(f, `cfg:${deviceId}`); }

  private allocate(file: FabricFile, existing: Allocations): Allocations {
    this.allocateFn ??= defaultAllocate();
    return this.allocateFn(file, existing);
  }
  private validate(file: FabricFile): void {
    this.validateFn ??= defaultValidate();
    this.validateFn(file);
  }

  // ----------------------------------------------------------------------------- health

  /** true when Redis answers PING within `timeoutMs` (never hangs across a reconnect). */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    try {
      const res = await Promise.race([
        this.redis.ping(),
        new Promise<string>((resolve) => { t = setTimeout(() => resolve('timeout'), timeoutMs); }),
      ]);
      return res === 'PONG';
    } catch {
      return false;
    } finally {
      if (t) clearTimeout(t);
    }
  }

  // ----------------------------------------------------------------------------- snapshot / commit

  /**
   * One pipeline read of what snapshot writes need. Ports, host keys and needsConfig markers are
   * read only for `deviceExtras` (rename moves them): after discovery, ports are the bulk of a
   * fabric and no other snapshot write needs them.
   */
  private async readSnapshot(f: string, deviceExtras?: string): Promise<Snapshot> {
    // The version is read FIRST in the pipeline: a write landing between it and the other reads
    // bumps the version, so the commit's check fails and we retry with a fresh snapshot.
    const p = this.redis.pipeline()
      .get(this.fk(f, 'ver'))
      .hget(this.fabricsKey, f)
      .hgetall(this.fk(f, 'devices'))
      .hgetall(this.fk(f, 'links'))
      .get(this.fk(f, 'alloc'))
      .hgetall(this.fk(f, 'serials'))
      .get(this.fk(f, 'services'))
      .get(this.fk(f, 'iver'));
    if (deviceExtras !== undefined) {
      p.hget(this.fk(f, 'ports'), deviceExtras).hget(this.fk(f, 'hostkeys'), deviceExtras).sismember(this.fk(f, 'needs'), deviceExtras);
    }
    const res = await p.exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    const v = res.map(([, x]) => x);
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
    if (tx.inventory) { tx.op('DEL', this.fk(f, 'intended')); tx.op('INCR', this.fk(f, 'iver')); }
    if (tx.touches(this.fk(f, 'devices'))) {
      tx.dchg(this.fk(f, 'dver'), this.fk(f, 'dchg'), this.fk(f, 'dfloor'), tx.fieldsWritten(this.fk(f, 'devices')));
    }
    const opKey = `${this.prefix}op:${randomUUID()}`;
    const keys = [this.fk(f, 'ver'), opKey, ...tx.keys];
    const spec = JSON.stringify({ c: tx.conds.length ? tx.conds : {}, o: tx.ops.length ? tx.ops : {} });
    const res = await this.r.fzCommit(keys.length, ...keys, version, spec) as [number, string];
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
  private async mutate<T, E = undefined>(f: string, op: string, fn: (s: Snapshot, tx: Tx, extra: E) => T, deviceExtras?: string, extra?: () => Promise<E>): Promise<T> {
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
  private async mutateFine<T>(f: string, op: string,
    fn: (read: (fields: [string, string][]) => Promise<(string | null)[]>, tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const tx = new Tx();
      const read = async (fields: [string, string][]) => {
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

  private event(tx: Tx, f: string, ev: NewEvent): void {
    const fields: string[] = ['at', now(), 'actor', ev.actor ?? 'system', 'action', ev.action, 'object', ev.object];
    if (ev.details !== undefined) fields.push('details', JSON.stringify(redactSecrets(ev.details)));
    tx.op('XADD', this.fk(f, 'events'), '*', ...fields);
  }

  private need(s: Snapshot, f: string): FabricRecord {
    if (!s.fabric) throw notFound(`fabric ${f}`);
    return s.fabric;
  }

  private device(s: Snapshot, f: string, d: string): DeviceRecord {
    this.need(s, f);
    const dev = s.devices.get(d);
    if (!dev) throw notFound(`device ${d} in fabric ${f}`);
    return dev;
  }

  /** The inventory as a fabric file (credentials redacted): what validation and intent take. */
  private fileOf(s: Snapshot, opts: { links?: boolean; devices?: DeviceRecord[] } = {}): FabricFile {
    const fab = s.fabric!;
    const devices = (opts.devices ?? [...s.devices.values()]).map(specOf).filter((x): x is DeviceSpec => !!x);
    const names = new Set(devices.map((d) => d.name));
    const links: LinkSpec[] = opts.links === false ? [] : [...s.links.values()]
      .filter((l) => !l.anomaly && names.has(l.a.device) && names.has(l.b.device))
      .map((l) => ({ a: { ...l.a }, b: { ...l.b } }));
    const file: FabricFile = {
      fabric: {
        name: fab.name,
        credentials: { username: fab.credentials.username, password: REDACTED },
        namespaces: fab.namespaces,
        settings: fab.settings,
      },
      devices,
      links,
    };
    const snmp = snmpRedacted(fab.snmp);
    if (snmp) file.fabric.snmp = snmp;
    const sv = s.services;
    if (sv.virtualNetworks.length) file.virtualNetworks = sv.virtualNetworks;
    if (sv.logicalRouters.length) file.logicalRouters = sv.logicalRouters;
    if (sv.servers.length) file.servers = sv.servers;
    if (sv.vpgs.length) file.vpgs = sv.vpgs;
    return file;
  }

  private writeDevice(tx: Tx, f: string, d: DeviceRecord): void {
    tx.op('HSET', this.fk(f, 'devices'), d.name, JSON.stringify(d));
  }

  private newDevice(input: NewDevice, at: string): DeviceRecord {
    return {
      id: randomUUID(),
      name: input.name,
      serial: input.serial ?? null,
      model: input.model ?? null,
      profile: input.profile ?? null,
      managementIp: input.managementIp ?? null,
      osVersion: input.osVersion ?? null,
      physicalRole: input.physicalRole ?? null,
      roles: input.roles ? [...input.roles] : [],
      managedState: input.managedState ?? 'dhcp',
      onboardingState: input.onboardingState === undefined ? null : input.onboardingState,
      hostname: input.hostname ?? null,
      createdAt: at,
      updatedAt: at,
    };
  }

  // ----------------------------------------------------------------------------- fabrics

  /**
   * Creates a fabric from a fabric file (object, JSON or YAML text): parsed and validated by
   * the domain (FabricError with a path on bad input), secrets encrypted, nothing allocated yet.
   */
  async createFabric(input: FabricFile | object | string, ctx: Actor = {}): Promise<FabricRecord> {
    const file = parseFile(input as object);
    this.validate(file);
    const f = checkName('fabric', file.fabric.name, 'fabric.name');
    const at = now();
    const rec: FabricRecord = {
      name: f,
      namespaces: file.fabric.namespaces,
      settings: file.fabric.settings ?? {},
      credentials: { username: file.fabric.credentials.username },
      snmp: snmpPublic(file.fabric.snmp),
      createdAt: at,
      updatedAt: at,
    };
    const secrets: FabricSecrets = { credentials: file.fabric.credentials };
    if (file.fabric.snmp) secrets.snmp = file.fabric.snmp;
    const blob = encrypt(this.key, JSON.stringify(secrets), `fabric:${f}`);
    const services: FabricServices = {
      virtualNetworks: file.virtualNetworks ?? [], logicalRouters: file.logicalRouters ?? [],
      servers: file.servers ?? [], vpgs: file.vpgs ?? [],
    };
    return this.mutate(f, 'createFabric', (s, tx) => {
      if (s.fabric) throw conflict(`fabric ${f} already exists`, 'fabric.name');
      const devs: [string, string][] = [];
      const serials: [string, string][] = [];
      file.devices.forEach((d, i) => {
        checkName('device', d.name, `devices[${i}].name`);
        const rec = this.newDevice({ ...d }, at);
        devs.push([d.name, JSON.stringify(rec)]);
        if (d.serial) serials.push([d.serial, d.name]);
      });
      const links: [string, string][] = file.links.map((l) => [linkKey(l), JSON.stringify({ a: l.a, b: l.b })]);
      // Leftovers of an earlier fabric of the same name (deleteFabric removes them; belt and braces).
      for (const part of ['devices', 'serials', 'links', 'ports', 'hostkeys', 'needs', 'alloc', 'services', 'secret']) {
        tx.op('DEL', this.fk(f, part));
      }
      tx.op('HSET', this.fabricsKey, f, JSON.stringify(rec));
      tx.op('SET', this.fk(f, 'secret'), blob);
      tx.op('SET', this.fk(f, 'services'), JSON.stringify(services));
      tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(emptyAllocations()));
      tx.hsetMany(this.fk(f, 'devices'), devs);
      tx.hsetMany(this.fk(f, 'serials'), serials);
      tx.hsetMany(this.fk(f, 'links'), links);
      this.event(tx, f, {
        actor: ctx.actor, action: 'fabric.created', object: `fabric/${f}`,
        details: { devices: file.devices.length, links: file.links.length },
      });
      return rec;
    });
  }

  async getFabric(f: string): Promise<FabricRecord | null> {
    const v = await this.redis.hget(this.fabricsKey, f);
    return v ? JSON.parse(v) as FabricRecord : null;
  }

  async listFabrics(): Promise<FabricRecord[]> {
    const h = await this.redis.hgetall(this.fabricsKey);
    return Object.values(h).map((v) => JSON.parse(v) as FabricRecord).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Changes settings, namespaces, credentials or SNMP. Refused (conflict, nothing written)
   * when the new namespaces would orphan an existing allocation.
   */
  async updateFabric(f: string, upd: FabricUpdate, ctx: Actor = {}): Promise<FabricRecord> {
    const touchesSecrets = upd.credentials !== undefined || upd.snmp !== undefined;
    // The stored secrets, read after the snapshot on each attempt: two updates of different
    // secrets (credentials, SNMP) both land instead of the later one restoring the other's old value.
    const readSecrets = async (): Promise<FabricSecrets | undefined> => (touchesSecrets ? this.getFabricSecrets(f).catch(() => undefined) : undefined);
    return this.mutate(f, 'updateFabric', (s, tx, curSecrets) => {
      const cur = this.need(s, f);
      let secretsBlob: string | undefined;
      if (touchesSecrets) {
        if (!curSecrets) throw notFound(`fabric ${f}`);
        const next: FabricSecrets = { credentials: upd.credentials ?? curSecrets.credentials };
        const snmp = upd.snmp === undefined ? curSecrets.snmp : upd.snmp ?? undefined;
        if (snmp) next.snmp = snmp;
        secretsBlob = encrypt(this.key, JSON.stringify(next), `fabric:${f}`);
      }
      const rec: FabricRecord = {
        ...cur,
        namespaces: upd.namespaces ?? cur.namespaces,
        settings: upd.settings !== undefined ? { ...cur.settings, ...upd.settings } : cur.settings,
        credentials: upd.credentials ? { username: upd.credentials.username } : cur.credentials,
        snmp: upd.snmp === undefined ? cur.snmp : snmpPublic(upd.snmp),
        updatedAt: now(),
      };
      // Validate the new fabric section with the spec-complete devices (overlayAsn needs them);
      // parse first so defaults and structure are checked the same way as on create.
      const file = this.fileOf({ ...s, fabric: rec }, { links: false });
      if (upd.credentials) file.fabric.credentials = upd.credentials;
      if (upd.snmp) file.fabric.snmp = upd.snmp;
      this.validate(parseFile(JSON.parse(JSON.stringify(file))));
      if (upd.namespaces) {
        const o = orphanedAllocation(upd.namespaces, s.alloc);
        if (o) throw conflict(o.message, o.path);
      }
      tx.op('HSET', this.fabricsKey, f, JSON.stringify(rec));
      if (secretsBlob) tx.op('SET', this.fk(f, 'secret'), secretsBlob);
      const changed = (['settings', 'namespaces', 'credentials', 'snmp'] as const).filter((k) => upd[k] !== undefined);
      this.event(tx, f, { actor: ctx.actor, action: 'fabric.updated', object: `fabric/${f}`, details: { changed } });
      return rec;
    }, undefined, readSecrets);
  }

  /** Deletes the fabric and everything in it. Refused (locked, with the job id) while a fabric job holds the lock. */
  async deleteFabric(f: string, ctx: Actor = {}): Promise<void> {
    await this.mutate(f, 'deleteFabric', (s, tx) => {
      this.need(s, f);
      tx.absent(this.lockKey(f));
      tx.op('HDEL', this.fabricsKey, f);
      for (const part of ['devices', 'serials', 'links', 'ports', 'hostkeys', 'needs', 'alloc', 'services', 'secret']) {
        tx.op('DEL', this.fk(f, part));
      }
      for (const d of s.devices.values()) tx.op('DEL', this.cfgKey(f, d.id));
      // The event stream and job records stay: they are the audit trail.
      this.event(tx, f, { actor: ctx.actor, action: 'fabric.deleted', object: `fabric/${f}`, details: { devices: s.devices.size } });
    });
  }

  /** Decrypted credentials and SNMP settings, for the jobs that talk to devices. Never log or return them. */
  async getFabricSecrets(f: string): Promise<FabricSecrets> {
    const blob = await this.redis.get(this.fk(f, 'secret'));
    if (!blob) throw notFound(`fabric ${f}`);
    return JSON.parse(decrypt(this.key, blob, `fabric:${f}`)) as FabricSecrets;
  }

  /** Fabric, devices, links (with subnets), allocations and services in one consistent read. */
  async getInventory(f: string): Promise<Inventory> {
    const s = await this.readSnapshot(f);
    const fabric = this.need(s, f);
    return {
      fabric,
      devices: [...s.devices.values()].sort((a, b) => a.name.localeCompare(b.name)),
      links: this.linkRecords(s.links, s.alloc),
      allocations: s.alloc,
      services: s.services,
      version: s.intentVersion,
    };
  }

  /** The inventory as a fabric file for intent (credentials redacted), plus the allocation record. */
  async getFabricFile(f: string): Promise<{ file: FabricFile; allocations: Allocations; version: number }> {
    const s = await this.readSnapshot(f);
    this.need(s, f);
    return { file: this.fileOf(s), allocations: s.alloc, version: s.intentVersion };
  }

  async getServices(f: string): Promise<FabricServices> {
    const [ex, v] = await Promise.all([this.redis.hexists(this.fabricsKey, f), this.redis.get(this.fk(f, 'services'))]);
    if (!ex) throw notFound(`fabric ${f}`);
    return v ? JSON.parse(v) as FabricServices : emptyServices();
  }

  /**
   * Read-modify-write of the overlay services in one optimistic transaction: `change` gets the
   * services as stored and returns the next ones (or throws: nothing is written). The whole
   * fabric is validated with them; `touched` (pure) names the devices whose intent changed.
   */
  async changeServices<T>(f: string, change: (cur: FabricServices) => { next: FabricServices; result: T },
    ctx: Actor = {}, touched?: (before: FabricFile, after: FabricFile, allocations: Allocations) => string[]): Promise<{ result: T; devices: string[] }> {
    return this.mutate(f, 'changeServices', (s, tx) => {
      this.need(s, f);
      const { next, result } = change(structuredClone(s.services));
      const after = this.fileOf({ ...s, services: next });
      this.validate(parseFile(JSON.parse(JSON.stringify(after))));
      if (sameJson(next, s.services)) return { result, devices: [] };
      const devices = touched ? touched(this.fileOf(s), after, s.alloc) : [];
      tx.op('SET', this.fk(f, 'services'), JSON.stringify(next));
      this.event(tx, f, {
        actor: ctx.actor, action: 'services.updated', object: `fabric/${f}`,
        details: {
          virtualNetworks: next.virtualNetworks.length, logicalRouters: next.logicalRouters.length,
          servers: next.servers.length, vpgs: next.vpgs.length, devices,
        },
      });
      return { result, devices };
    });
  }

  /** Replaces the overlay services (VNs, LRs, servers, VPGs) after validating the whole fabric with them. */
  async setServices(f: string, services: FabricServices, ctx: Actor = {}): Promise<void> {
    await this.mutate(f, 'setServices', (s, tx) => {
      this.need(s, f);
      const next = { ...s, services };
      this.validate(parseFile(JSON.parse(JSON.stringify(this.fileOf(next)))));
      tx.op('SET', this.fk(f, 'services'), JSON.stringify(services));
      this.event(tx, f, {
        actor: ctx.actor, action: 'services.updated', object: `fabric/${f}`,
        details: {
          virtualNetworks: services.virtualNetworks.length, logicalRouters: services.logicalRouters.length,
          servers: services.servers.length, vpgs: services.vpgs.length,
        },
      });
    });
  }

  // ----------------------------------------------------------------------------- devices

  /**
   * Device list cache: every commit that touches a fabric's devices hash bumps `dver` in the
   * same atomic script, so one tiny GET tells whether the cached list is current (also across
   * processes). A changed version reloads the list (HVALS), parsing only records that changed.
   */
  private async deviceList(f: string): Promise<DeviceListEntry> {
    const cached = this.devCache.get(f);
    if (cached && cached.ver !== null) {
      const res = await this.redis.pipeline()
        .get(this.fk(f, 'dver'))
        .get(this.fk(f, 'dfloor'))
        .zrangebyscore(this.fk(f, 'dchg'), `(${cached.ver}`, '+inf')
        .exec();
      if (!res) throw new Error('redis pipeline returned nothing');
      for (const [err] of res) if (err) throw err;
      const ver = res[0][1] as string | null;
      if (ver === cached.ver) return cached;
      const floor = Number((res[1][1] as string | null) ?? 0);
      const changed = res[2][1] as string[];
      // Partial reload: only the devices written since our version (unless the log was trimmed
      // past it or the whole hash was replaced).
      if (ver !== null && changed.length > 0 && !changed.includes('*') && floor <= Number(cached.ver)) {
        return this.patchDeviceList(f, cached, ver, changed);
      }
    }
    const res = await this.redis.pipeline().get(this.fk(f, 'dver')).hexists(this.fabricsKey, f).hvals(this.fk(f, 'devices')).exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    if (!res[1][1]) { this.devCache.delete(f); throw notFound(`fabric ${f}`); }
    const ver = res[0][1] as string | null;
    const prev = new Map<string, DeviceRecord>();
    if (cached) cached.raw.forEach((r, i) => prev.set(r, cached.records[i]));
    const pairs = (res[2][1] as string[]).map((r): [string, DeviceRecord] => [r, prev.get(r) ?? frozen(JSON.parse(r) as DeviceRecord)]);
    return this.cacheDeviceList(f, ver, pairs);
  }

  private async patchDeviceList(f: string, cached: DeviceListEntry, ver: string, changed: string[]): Promise<DeviceListEntry> {
    const res = await this.redis.pipeline().hexists(this.fabricsKey, f).hmget(this.fk(f, 'devices'), ...changed).exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    if (!res[0][1]) { this.devCache.delete(f); throw notFound(`fabric ${f}`); }
    const vals = res[1][1] as (string | null)[];
    // Only existing devices changed (the common case: state and fact updates): replace in place,
    // the order by name stays.
    if (vals.every((raw, i) => raw !== null && cached.index.has(changed[i]))) {
      const raw = cached.raw.slice();
      const records = cached.records.slice();
      vals.forEach((r, i) => {
        const at = cached.index.get(changed[i])!;
        raw[at] = r!;
        records[at] = frozen(JSON.parse(r!) as DeviceRecord);
      });
      return this.storeDeviceList(f, { ver, raw, records, index: cached.index });
    }
    const byName = new Map<string, [string, DeviceRecord]>();
    cached.records.forEach((d, i) => byName.set(d.name, [cached.raw[i], d]));
    vals.forEach((raw, i) => {
      if (raw === null) byName.delete(changed[i]);
      else byName.set(changed[i], [raw, frozen(JSON.parse(raw) as DeviceRecord)]);
    });
    // Values read after `ver` may be newer than it: harmless, the next call re-reads them.
    return this.cacheDeviceList(f, ver, [...byName.values()]);
  }

  private cacheDeviceList(f: string, ver: string | null, pairs: [string, DeviceRecord][]): DeviceListEntry {
    pairs.sort(([, a], [, b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const index = new Map<string, number>();
    pairs.forEach(([, d], i) => index.set(d.name, i));
    return this.storeDeviceList(f, { ver, raw: pairs.map(([r]) => r), records: pairs.map(([, d]) => d), index });
  }

  private storeDeviceList(f: string, entry: DeviceListEntry): DeviceListEntry {
    const ver = entry.ver;
    if (ver !== null) {
      this.devCache.delete(f);
      this.devCache.set(f, entry);
      // Bounded: keep the most recently loaded fabrics only.
      while (this.devCache.size > 32) this.devCache.delete(this.devCache.keys().next().value as string);
    }
    return entry;
  }

  /**
   * All devices of a fabric, sorted by name. One small round trip when nothing changed since the
   * last call (records are frozen and shared: copy before changing one).
   */
  async listDevices(f: string): Promise<DeviceRecord[]> {
    return [...(await this.deviceList(f)).records];
  }

  /** The stored JSON of every device, sorted by name (for an API that sends them without re-encoding). */
  async listDevicesRaw(f: string): Promise<string[]> {
    return [...(await this.deviceList(f)).raw];
  }

  /** The whole device list as one JSON array text (built once per change). */
  async listDevicesJson(f: string): Promise<string> {
    const e = await this.deviceList(f);
    e.json ??= `[${e.raw.join(',')}]`;
    return e.json;
  }

  /** The device a serial belongs to (discovery, ZTP), or null. Two small round trips. */
  async getDeviceBySerial(f: string, serial: string): Promise<DeviceDetail | null> {
    const name = await this.redis.hget(this.fk(f, 'serials'), serial);
    return name ? this.getDevice(f, name) : null;
  }

  async getDevice(f: string, d: string): Promise<DeviceDetail | null> {
    const res = await this.redis.pipeline()
      .hget(this.fk(f, 'devices'), d)
      .hget(this.fk(f, 'ports'), d)
      .hget(this.fk(f, 'hostkeys'), d)
      .sismember(this.fk(f, 'needs'), d)
      .exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    if (!res[0][1]) return null;
    const dev = JSON.parse(res[0][1] as string) as DeviceRecord;
    return {
      ...dev,
      ports: res[1][1] ? JSON.parse(res[1][1] as string) as PortRecord[] : [],
      hostKey: (res[2][1] as string | null) ?? null,
      needsConfig: res[3][1] === 1,
    };
  }

  private validateDeviceSpec(s: Snapshot, dev: DeviceRecord, path: string): void {
    if (!specOf(dev)) return;
    const others = [...s.devices.values()].filter((d) => d.name !== dev.name);
    const file = this.fileOf(s, { links: false, devices: [...others, dev] });
    try {
      this.validate(parseFile(JSON.parse(JSON.stringify(file))));
    } catch (e) {
      // Re-point the domain's path (devices[i]...) at the device being written.
      const err = e as Error & { path?: string };
      const i = file.devices.findIndex((x) => x.name === dev.name);
      if (err.path && err.path.startsWith(`devices[${i}]`)) {
        const rest = err.path.slice(`devices[${i}]`.length).replace(/^\./, '');
        const what = err.message.includes(': ') ? err.message.slice(err.message.indexOf(': ') + 2) : err.message;
        throw invalid(`${rest || path}: ${what}`, rest || path);
      }
      throw e;
    }
  }

  /**
   * Adds one device (profile/role checked against its node profile when given). With
   * `allocate: true` its loopback and ASN are allocated in the same atomic write, never
   * renumbering what exists.
   */
  async addDevice(f: string, input: NewDevice, opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord> {
    return (await this.addDevices(f, [input], opts, ctx))[0];
  }

  /** Adds many devices in one atomic write (all or none); paths name the failing index. */
  async addDevices(f: string, inputs: NewDevice[], opts: { allocate?: boolean } = {}, ctx: Actor = {}): Promise<DeviceRecord[]> {
    const many = inputs.length > 1;
    const at = (i: number, field: string) => (many ? `devices[${i}].${field}` : field);
    inputs.forEach((input, i) => {
      checkName('device', input?.name, at(i, 'name'));
      try { this.checkStates(input); } catch (e) { throw many ? invalid(`devices[${i}].${(e as Error).message}`, at(i, (e as StoreError).path ?? '')) : e; }
      if (input.physicalRole !== undefined && !PHYSICAL_ROLES.includes(input.physicalRole)) {
        throw invalid(`${at(i, 'physicalRole')}: "${input.physicalRole}" is not one of ${PHYSICAL_ROLES.join(', ')}`, at(i, 'physicalRole'));
      }
    });
    return this.mutate(f, 'addDevices', (s, tx) => {
      const fab = this.need(s, f);
      inputs.forEach((input, i) => this.checkManagementIp(fab, input.managementIp, at(i, 'managementIp')));
      const t = now();
      const names = new Set<string>();
      const serials = new Set<string>();
      const out = inputs.map((input, i) => {
        if (s.devices.has(input.name) || names.has(input.name)) throw conflict(`${at(i, 'name')}: device ${input.name} already exists in fabric ${f}`, at(i, 'name'));
        if (input.serial && (s.serials.has(input.serial) || serials.has(input.serial))) {
          throw conflict(`${at(i, 'serial')}: serial ${input.serial} already belongs to device ${s.serials.get(input.serial) ?? inputs.find((x) => x.serial === input.serial)!.name}`, at(i, 'serial'));
        }
        names.add(input.name);
        if (input.serial) serials.add(input.serial);
        return this.newDevice(input, t);
      });
      // One validation over the fabric with all new devices (roles@physical and profiles).
      for (const dev of out) s.devices.set(dev.name, dev);
      if (out.some((d) => specOf(d))) {
        try {
          this.validate(parseFile(JSON.parse(JSON.stringify(this.fileOf(s, { links: false })))));
        } catch (e) {
          const err = e as Error & { path?: string };
          const m = err.path ? /^devices\[(\d+)\](.*)$/.exec(err.path) : null;
          const file = this.fileOf(s, { links: false });
          const name = m ? file.devices[Number(m[1])]?.name : undefined;
          const i = name ? inputs.findIndex((x) => x.name === name) : -1;
          if (m && i >= 0) {
            const rest = m[2].replace(/^\./, '');
            const what = err.message.includes(': ') ? err.message.slice(err.message.indexOf(': ') + 2) : err.message;
            const p = many ? `devices[${i}]${rest ? `.${rest}` : ''}` : rest || 'device';
            throw invalid(`${p}: ${what}`, p);
          }
          throw e;
        }
      }
      tx.hsetMany(this.fk(f, 'devices'), out.map((d) => [d.name, JSON.stringify(d)]));
      const idx = out.filter((d) => d.serial).map((d): [string, string] => [d.serial!, d.name]);
      tx.hsetMany(this.fk(f, 'serials'), idx);
      if (opts.allocate) this.writeAllocation(s, tx, f, ctx);
      if (out.length === 1) {
        this.event(tx, f, { actor: ctx.actor, action: 'device.added', object: `device/${out[0].name}`, details: { serial: out[0].serial, profile: out[0].profile } });
      } else {
        this.event(tx, f, { actor: ctx.actor, action: 'devices.added', object: `fabric/${f}`, details: { devices: out.map((d) => d.name) } });
      }
      return out;
    });
  }

  /**
   * Discovery's upsert: the device whose serial matches takes the facts (and keeps its name,
   * profile and roles); an unknown serial becomes a new device named after its serial.
   */
  async upsertDiscoveredDevice(f: string, disc: DiscoveredDevice, ctx: Actor = {}): Promise<{ device: DeviceRecord; created: boolean }> {
    if (typeof disc.serial !== 'string' || disc.serial.length === 0) throw invalid('serial: required', 'serial');
    this.checkStates(disc);
    return this.mutateFine(f, 'upsertDiscoveredDevice', async (read, tx) => {
      const [fab, indexed] = await read([[this.fabricsKey, f], [this.fk(f, 'serials'), disc.serial]]);
      if (!fab) throw notFound(`fabric ${f}`);
      this.checkManagementIp(JSON.parse(fab) as FabricRecord, disc.managementIp, 'managementIp');
      const name = indexed ?? checkName('device', disc.serial, 'serial');
      const [curJson, portsJson] = await read([[this.fk(f, 'devices'), name], [this.fk(f, 'ports'), name]]);
      const cur = curJson ? JSON.parse(curJson) as DeviceRecord : undefined;
      const at = now();
      let dev: DeviceRecord;
      let created = false;
      if (indexed && cur) {
        dev = {
          ...cur,
          model: disc.model ?? cur.model,
          profile: cur.profile ?? disc.profile ?? null,
          managementIp: disc.managementIp ?? cur.managementIp,
          osVersion: disc.osVersion ?? cur.osVersion,
          hostname: disc.hostname ?? cur.hostname,
          managedState: disc.managedState ?? cur.managedState,
          onboardingState: disc.onboardingState ?? cur.onboardingState ?? 'discovered',
          updatedAt: at,
        };
      } else {
        if (cur) throw conflict(`a device named ${name} (another serial) already exists in fabric ${f}`, 'serial');
        dev = this.newDevice({
          name, serial: disc.serial, model: disc.model, profile: disc.profile,
          managementIp: disc.managementIp, osVersion: disc.osVersion, hostname: disc.hostname,
          managedState: disc.managedState, onboardingState: disc.onboardingState ?? 'discovered',
        }, at);
        tx.op('HSET', this.fk(f, 'serials'), disc.serial, dev.name);
        created = true;
      }
      const oldPorts = portsJson ? JSON.parse(portsJson) as PortRecord[] : [];
      const portsChanged = disc.ports !== undefined && !sameJson(disc.ports, oldPorts);
      if (!created && cur && sameJson({ ...cur, updatedAt: '' }, { ...dev, updatedAt: '' }) && !portsChanged) {
        return { device: cur, created };
      }
      // Intent sees a device only with profile and physical role: facts alone do not move it.
      tx.inventory = !sameJson(intentOf(cur), intentOf(dev));
      this.writeDevice(tx, f, dev);
      if (portsChanged) tx.op('HSET', this.fk(f, 'ports'), dev.name, JSON.stringify(disc.ports));
      this.event(tx, f, {
        actor: ctx.actor ?? 'discovery', action: created ? 'device.discovered' : 'device.updated', object: `device/${dev.name}`,
        details: { serial: disc.serial, managementIp: dev.managementIp, model: dev.model },
      });
      return { device: dev, created };
    });
  }

  /** A management address outside the namespace is refused on every write path (credentials go there). */
  private checkManagementIp(fab: FabricRecord, ip: string | null | undefined, path: string): void {
    if (ip === undefined || ip === null) return;
    const why = managementIpProblem(fab.namespaces, ip);
    if (why) throw invalid(`${path}: ${why}`, path);
  }

  private checkStates(p: { managedState?: unknown; onboardingState?: unknown }): void {
    if (p.managedState !== undefined && !MANAGED_STATES.includes(p.managedState as never)) {
      throw invalid(`managedState: "${String(p.managedState)}" is not one of ${MANAGED_STATES.join(', ')}`, 'managedState');
    }
    if (p.onboardingState !== undefined && p.onboardingState !== null && !ONBOARDING_STATES.includes(p.onboardingState as never)) {
      throw invalid(`onboardingState: "${String(p.onboardingState)}" is not one of ${ONBOARDING_STATES.join(', ')}`, 'onboardingState');
    }
  }

  /** Patches facts and states (not name: renameDevice; not roles: setDeviceRoles). */
  private checkPatch(patch: DevicePatch): void {
    this.checkStates(patch);
    const allowed = ['serial', 'model', 'profile', 'managementIp', 'osVersion', 'hostname', 'managedState', 'onboardingState'];
    for (const k of Object.keys(patch)) if (!allowed.includes(k)) throw invalid(`${k}: cannot be patched here (allowed: ${allowed.join(', ')})`, k);
  }

  async updateDevice(f: string, d: string, patch: DevicePatch, ctx: Actor = {}): Promise<DeviceRecord> {
    this.checkPatch(patch);
    if (patch.profile !== undefined) return this.updateDeviceProfile(f, d, patch, ctx);
    return this.mutateFine(f, 'updateDevice', async (read, tx) => {
      const [fab, curJson] = await read([[this.fabricsKey, f], [this.fk(f, 'devices'), d]]);
      if (!fab) throw notFound(`fabric ${f}`);
      if (!curJson) throw notFound(`device ${d} in fabric ${f}`);
      this.checkManagementIp(JSON.parse(fab) as FabricRecord, patch.managementIp, 'managementIp');
      const cur = JSON.parse(curJson) as DeviceRecord;
      const dev: DeviceRecord = { ...cur, ...patch, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial) {
        if (patch.serial) {
          const [holder] = await read([[this.fk(f, 'serials'), patch.serial]]);
          if (holder && holder !== d) throw conflict(`serial ${patch.serial} already belongs to device ${holder}`, 'serial');
          tx.op('HSET', this.fk(f, 'serials'), patch.serial, d);
        }
        if (cur.serial) tx.op('HDEL', this.fk(f, 'serials'), cur.serial);
      }
      this.finishDeviceUpdate(tx, f, cur, dev, patch, ctx);
      return dev;
    });
  }

  /** A profile change is validated against the whole fabric (roles@physical of the new profile). */
  private updateDeviceProfile(f: string, d: string, patch: DevicePatch, ctx: Actor): Promise<DeviceRecord> {
    return this.mutate(f, 'updateDevice', (s, tx) => {
      const cur = this.device(s, f, d);
      this.checkManagementIp(s.fabric!, patch.managementIp, 'managementIp');
      const dev: DeviceRecord = { ...cur, ...patch, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial) {
        if (patch.serial && s.serials.has(patch.serial) && s.serials.get(patch.serial) !== d) {
          throw conflict(`serial ${patch.serial} already belongs to device ${s.serials.get(patch.serial)}`, 'serial');
        }
        if (cur.serial) tx.op('HDEL', this.fk(f, 'serials'), cur.serial);
        if (patch.serial) tx.op('HSET', this.fk(f, 'serials'), patch.serial, d);
      }
      if (patch.profile !== cur.profile) this.validateDeviceSpec(s, dev, 'profile');
      this.finishDeviceUpdate(tx, f, cur, dev, patch, ctx);
      return dev;
    });
  }

  private finishDeviceUpdate(tx: Tx, f: string, cur: DeviceRecord, dev: DeviceRecord, patch: DevicePatch, ctx: Actor): void {
    // States and facts do not change the intended config; only what intent sees does.
    tx.inventory = !sameJson(intentOf(cur), intentOf(dev));
    this.writeDevice(tx, f, dev);
    // Only what changed goes into the history (values are facts, never secrets).
    const changed: Record<string, unknown> = {};
    for (const k of Object.keys(patch) as (keyof DevicePatch)[]) if (patch[k] !== cur[k]) changed[k] = patch[k];
    this.event(tx, f, { actor: ctx.actor, action: 'device.updated', object: `device/${cur.name}`, details: changed });
  }

  /**
   * Renames a device everywhere in one atomic write: device, serial index, ports, host key,
   * links (and their keys), allocations, servers/VPG references, needsConfig marker.
   */
  async renameDevice(f: string, d: string, newName: string, ctx: Actor = {}, patch: DevicePatch = {}): Promise<DeviceRecord> {
    checkName('device', newName, 'name');
    this.checkPatch(patch);
    return this.mutate(f, 'renameDevice', (s, tx) => {
      const cur = this.device(s, f, d);
      this.checkManagementIp(s.fabric!, patch.managementIp, 'managementIp');
      if (newName === d) return cur;
      if (s.devices.has(newName)) throw conflict(`device ${newName} already exists in fabric ${f}`, 'name');
      // A patch given with the rename lands in the same write (all or nothing).
      const dev: DeviceRecord = { ...cur, ...patch, name: newName, updatedAt: now() } as DeviceRecord;
      if (patch.serial !== undefined && patch.serial !== cur.serial && patch.serial && s.serials.has(patch.serial)) {
        throw conflict(`serial ${patch.serial} already belongs to device ${s.serials.get(patch.serial)}`, 'serial');
      }
      if (patch.profile !== undefined && patch.profile !== cur.profile) this.validateDeviceSpec({ ...s, devices: new Map([...s.devices].filter(([n]) => n !== d)) }, dev, 'profile');
      if (patch.serial !== undefined && patch.serial !== cur.serial && cur.serial) tx.op('HDEL', this.fk(f, 'serials'), cur.serial);
      const mv = (e: LinkEnd): LinkEnd => (e.device === d ? { device: newName, port: e.port } : e);
      tx.op('HDEL', this.fk(f, 'devices'), d);
      this.writeDevice(tx, f, dev);
      if (dev.serial) tx.op('HSET', this.fk(f, 'serials'), dev.serial, newName);
      const ports = s.ports.get(d);
      if (ports) { tx.op('HDEL', this.fk(f, 'ports'), d); tx.op('HSET', this.fk(f, 'ports'), newName, JSON.stringify(ports)); }
      const hk = s.hostKeys.get(d);
      // Host keys are pinned without a version bump: the rename re-checks the one it read.
      tx.fieldIs(this.fk(f, 'hostkeys'), d, hk ?? null);
      if (hk) { tx.op('HDEL', this.fk(f, 'hostkeys'), d); tx.op('HSET', this.fk(f, 'hostkeys'), newName, hk); }
      if (s.needs.has(d)) { tx.op('SREM', this.fk(f, 'needs'), d); tx.op('SADD', this.fk(f, 'needs'), newName); }
      const alloc: Allocations = { loopbacks: { ...s.alloc.loopbacks }, asns: { ...s.alloc.asns }, links: { ...s.alloc.links } };
      if (Object.hasOwn(alloc.loopbacks, d)) { alloc.loopbacks[newName] = alloc.loopbacks[d]; delete alloc.loopbacks[d]; }
      if (Object.hasOwn(alloc.asns, d)) { alloc.asns[newName] = alloc.asns[d]; delete alloc.asns[d]; }
      for (const [k, l] of s.links) {
        if (l.a.device !== d && l.b.device !== d) continue;
        const nl: LinkInput = { ...l, a: mv(l.a), b: mv(l.b) };
        const nk = linkKey(nl);
        tx.op('HDEL', this.fk(f, 'links'), k);
        tx.op('HSET', this.fk(f, 'links'), nk, JSON.stringify(nl));
        if (Object.hasOwn(alloc.links, k)) { const sub = alloc.links[k]; delete alloc.links[k]; alloc.links[nk] = sub; }
      }
      tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(alloc));
      const sv = s.services;
      const services: FabricServices = {
        ...sv,
        servers: sv.servers.map((x) => ({ ...x, nics: x.nics.map((n) => (n.device === d ? { ...n, device: newName } : n)) })),
        vpgs: sv.vpgs.map((x) => ({ ...x, ports: x.ports.map(mv) })),
      };
      if (!sameJson(services, sv)) tx.op('SET', this.fk(f, 'services'), JSON.stringify(services));
      this.event(tx, f, { actor: ctx.actor, action: 'device.renamed', object: `device/${newName}`, details: { from: d, to: newName, ...(Object.keys(patch).length ? { patched: Object.keys(patch) } : {}) } });
      return dev;
    }, d);
  }

  /** Sets physical and routing/bridging roles, checked against the device's node profile. */
  async setDeviceRoles(f: string, d: string, roles: { physicalRole: PhysicalRole; roles: string[] }, ctx: Actor = {}): Promise<DeviceRecord> {
    if (!PHYSICAL_ROLES.includes(roles.physicalRole)) {
      throw invalid(`physicalRole: "${String(roles.physicalRole)}" is not one of ${PHYSICAL_ROLES.join(', ')}`, 'physicalRole');
    }
    if (!Array.isArray(roles.roles) || roles.roles.some((r) => typeof r !== 'string')) throw invalid('roles: expected a list of role names', 'roles');
    return this.mutate(f, 'setDeviceRoles', (s, tx) => {
      const cur = this.device(s, f, d);
      if (!cur.profile) throw conflict(`device ${d} has no node profile yet (discover it first, or set its profile)`, 'profile');
      const dev: DeviceRecord = {
        ...cur, physicalRole: roles.physicalRole, roles: [...roles.roles], updatedAt: now(),
        onboardingState: cur.onboardingState && ONBOARDING_STATES.indexOf(cur.onboardingState) < ONBOARDING_STATES.indexOf('role_discovered')
          ? 'role_discovered' : cur.onboardingState,
      };
      this.validateDeviceSpec(s, dev, 'roles');
      if (cur.physicalRole === dev.physicalRole && sameJson(cur.roles, dev.roles)) return cur;
      // A tier change must not silently drop the routing of a cabled link (leaf made spine:
      // its spine links become same-tier and would lose their /31 and sessions).
      if (cur.physicalRole !== dev.physicalRole) {
        const lost = [...s.links.entries()].filter(([k, l]) => {
          if (l.anomaly || !Object.hasOwn(s.alloc.links, k)) return false;
          const peer = s.devices.get(l.a.device === d ? l.b.device : l.a.device);
          return (l.a.device === d || l.b.device === d) && !!peer?.physicalRole && peer.physicalRole === dev.physicalRole;
        }).map(([k]) => k);
        if (lost.length) {
          throw conflict(`physicalRole: ${d} as ${dev.physicalRole} would leave ${lost.length} addressed link${lost.length > 1 ? 's' : ''} between two ${dev.physicalRole}s unrouted: ${lost.join(', ')} (delete or recable them first)`, 'physicalRole');
        }
      }
      this.writeDevice(tx, f, dev);
      tx.op('SADD', this.fk(f, 'needs'), d);
      this.event(tx, f, {
        actor: ctx.actor, action: 'device.roles', object: `device/${d}`,
        details: { physicalRole: dev.physicalRole, roles: dev.roles, was: { physicalRole: cur.physicalRole, roles: cur.roles } },
      });
      return dev;
    });
  }

  /**
   * Deletes a device, its links (peers marked needsConfig), its allocations, ports, host key
   * and config history. Refused while a server NIC or VPG port uses it.
   */
  async deleteDevice(f: string, d: string, ctx: Actor = {}): Promise<void> {
    await this.mutate(f, 'deleteDevice', (s, tx) => {
      const cur = this.device(s, f, d);
      const srv = s.services.servers.find((x) => x.nics.some((n) => n.device === d));
      if (srv) throw conflict(`device ${d} is used by server ${srv.name}`, 'servers');
      const vpg = s.services.vpgs.find((x) => x.ports.some((p) => p.device === d));
      if (vpg) throw conflict(`device ${d} is used by VPG ${vpg.name}`, 'vpgs');
      tx.op('HDEL', this.fk(f, 'devices'), d);
      if (cur.serial) tx.op('HDEL', this.fk(f, 'serials'), cur.serial);
      tx.op('HDEL', this.fk(f, 'ports'), d);
      tx.op('HDEL', this.fk(f, 'hostkeys'), d);
      tx.op('SREM', this.fk(f, 'needs'), d);
      tx.op('DEL', this.cfgKey(f, cur.id));
      const alloc: Allocations = { loopbacks: { ...s.alloc.loopbacks }, asns: { ...s.alloc.asns }, links: { ...s.alloc.links } };
      delete alloc.loopbacks[d];
      delete alloc.asns[d];
      const peers = new Set<string>();
      for (const [k, l] of s.links) {
        if (l.a.device !== d && l.b.device !== d) continue;
        tx.op('HDEL', this.fk(f, 'links'), k);
        delete alloc.links[k];
        const peer = l.a.device === d ? l.b.device : l.a.device;
        if (peer !== d && s.devices.has(peer)) peers.add(peer);
      }
      if (peers.size) tx.op('SADD', this.fk(f, 'needs'), ...peers);
      tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(alloc));
      this.event(tx, f, { actor: ctx.actor, action: 'device.deleted', object: `device/${d}`, details: { serial: cur.serial, peers: [...peers] } });
    });
  }

  /** Replaces the ports of a device (discovery's interface onboarding). */
  async setPorts(f: string, d: string, ports: PortRecord[], ctx: Actor = {}): Promise<void> {
    await this.mutateFine(f, 'setPorts', async (read, tx) => {
      const [fab, dev, old] = await read([[this.fabricsKey, f], [this.fk(f, 'devices'), d], [this.fk(f, 'ports'), d]]);
      if (!fab) throw notFound(`fabric ${f}`);
      if (!dev) throw notFound(`device ${d} in fabric ${f}`);
      if (sameJson(ports, old ? JSON.parse(old) : [])) return;
      tx.inventory = false;
      tx.op('HSET', this.fk(f, 'ports'), d, JSON.stringify(ports));
      this.event(tx, f, { actor: ctx.actor ?? 'discovery', action: 'device.ports', object: `device/${d}`, details: { ports: ports.length } });
    });
  }

  // ----------------------------------------------------------------------------- host keys (NETCONF TOFU)

  /** Trust-on-first-use store for the NETCONF client; deviceId = device name in fabric `f`. */
  hostKeyStore(f: string, ctx: Actor = {}): HostKeyStore {
    const key = this.fk(f, 'hostkeys');
    const ev = (action: string, d: string) => ['at', now(), 'actor', ctx.actor ?? 'netconf', 'action', action, 'object', `device/${d}`];
    const store: HostKeyStore = {
      get: async (d) => (await this.redis.hget(key, d)) ?? undefined,
      // No inventory version bump: pinning a key changes no intent (renameDevice checks the field).
      set: async (d, fp) => {
        await this.redis.multi().hset(key, d, fp).xadd(this.fk(f, 'events'), '*', ...ev('hostkey.trusted', d), 'details', JSON.stringify({ fingerprint: fp })).exec();
      },
      reset: async (d) => {
        await this.redis.multi().hdel(key, d).xadd(this.fk(f, 'events'), '*', ...ev('hostkey.reset', d)).exec();
      },
    };
    // The NETCONF client (src/netconf/client.ts) calls it delete().
    store.delete = store.reset;
    return store;
  }

  // ----------------------------------------------------------------------------- links

  private linkRecords(links: Map<string, LinkInput>, alloc: Allocations): LinkRecord[] {
    return [...links.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, l]) => {
      const r: LinkRecord = { a: l.a, b: l.b };
      const sub = alloc.links[k];
      if (sub) r.subnet = sub;
      if (l.anomaly) r.anomaly = l.anomaly;
      return r;
    });
  }

  async listLinks(f: string): Promise<LinkRecord[]> {
    const res = await this.redis.pipeline().hexists(this.fabricsKey, f).hgetall(this.fk(f, 'links')).get(this.fk(f, 'alloc')).exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    if (!res[0][1]) throw notFound(`fabric ${f}`);
    const alloc = res[2][1] ? JSON.parse(res[2][1] as string) as Allocations : emptyAllocations();
    return this.linkRecords(mapOf<LinkInput>(res[1][1] as Record<string, string>), alloc);
  }

  /** Checks new links: ends on existing devices, distinct ends, no port used twice. */
  private checkLinks(s: Snapshot, links: LinkInput[], keep: Map<string, LinkInput>): Map<string, LinkInput> {
    const out = new Map(keep);
    const used = new Map<string, string>();
    for (const [k, l] of keep) { used.set(endText(l.a), k); used.set(endText(l.b), k); }
    links.forEach((l, i) => {
      for (const side of ['a', 'b'] as const) {
        const e = l?.[side];
        if (!e || typeof e.device !== 'string' || typeof e.port !== 'string' || !e.port) {
          throw invalid(`links[${i}].${side}: expected {device, port}`, `links[${i}].${side}`);
        }
        if (!s.devices.has(e.device)) throw invalid(`links[${i}].${side}.device: no device ${e.device} in fabric ${s.fabric!.name}`, `links[${i}].${side}.device`);
      }
      if (l.a.device === l.b.device && l.a.port === l.b.port) throw invalid(`links[${i}]: both ends are ${endText(l.a)}`, `links[${i}]`);
      const k = linkKey(l);
      if (out.has(k)) throw conflict(`links[${i}]: link ${k} already exists`, `links[${i}]`);
      for (const side of ['a', 'b'] as const) {
        const other = used.get(endText(l[side]));
        if (other) throw conflict(`links[${i}].${side}: port ${endText(l[side])} is already cabled (${other})`, `links[${i}].${side}`);
      }
      const rec: LinkInput = { a: { device: l.a.device, port: l.a.port }, b: { device: l.b.device, port: l.b.port } };
      if (l.anomaly) rec.anomaly = l.anomaly;
      out.set(k, rec);
      used.set(endText(l.a), k);
      used.set(endText(l.b), k);
    });
    // Port names against node profiles: validate the planned links among spec-complete devices.
    const file = this.fileOf({ ...s, links: out });
    this.validate(parseFile(JSON.parse(JSON.stringify(file))));
    return out;
  }

  private peersOf(links: Map<string, LinkInput>): Map<string, string> {
    const m = new Map<string, string>(); // "dev:port" -> "peer:port"
    for (const l of links.values()) { m.set(endText(l.a), endText(l.b)); m.set(endText(l.b), endText(l.a)); }
    return m;
  }

  /** Adds links; both ends' devices are marked needsConfig. */
  async addLinks(f: string, links: LinkInput[], ctx: Actor = {}): Promise<LinkRecord[]> {
    return this.mutate(f, 'addLinks', (s, tx) => {
      this.need(s, f);
      const next = this.checkLinks(s, links, s.links);
      const added = [...next.entries()].filter(([k]) => !s.links.has(k));
      tx.hsetMany(this.fk(f, 'links'), added.map(([k, l]) => [k, JSON.stringify(l)]));
      const devs = new Set(added.flatMap(([, l]) => [l.a.device, l.b.device]));
      if (devs.size) tx.op('SADD', this.fk(f, 'needs'), ...devs);
      this.event(tx, f, { actor: ctx.actor, action: 'links.added', object: `fabric/${f}`, details: { links: added.map(([k]) => k) } });
      return this.linkRecords(new Map(added), s.alloc);
    });
  }

  /**
   * Replaces every link of the fabric (discovery's topology). Devices whose peers changed are
   * marked needsConfig; subnets of removed links are freed, kept links keep theirs.
   */
  /** `links` may be a function of the stored links (a read-modify-write inside the transaction). */
  async replaceLinks(f: string, links: LinkInput[] | ((cur: LinkInput[]) => LinkInput[]), ctx: Actor = {}): Promise<ReplaceLinksResult> {
    return this.mutate(f, 'replaceLinks', (s, tx) => {
      this.need(s, f);
      const wanted = typeof links === 'function' ? links([...s.links.values()].map((l) => structuredClone(l))) : links;
      const next = this.checkLinks(s, wanted, new Map());
      const removed = [...s.links.keys()].filter((k) => !next.has(k));
      const added = [...next.keys()].filter((k) => !s.links.has(k));
      const changedAnomaly = [...next.keys()].filter((k) => s.links.has(k) && !sameJson(s.links.get(k), next.get(k)));
      const before = this.peersOf(s.links);
      const after = this.peersOf(next);
      const changed = new Set<string>();
      for (const end of new Set([...before.keys(), ...after.keys()])) {
        if (before.get(end) !== after.get(end)) changed.add(end.slice(0, end.indexOf(':')));
      }
      const changedDevices = [...changed].filter((d) => s.devices.has(d)).sort();
      const result: ReplaceLinksResult = { added: added.length, removed: removed.length, changedDevices };
      if (!removed.length && !added.length && !changedAnomaly.length) return result;
      tx.hdelMany(this.fk(f, 'links'), removed);
      tx.hsetMany(this.fk(f, 'links'), [...added, ...changedAnomaly].map((k) => [k, JSON.stringify(next.get(k))]));
      if (removed.some((k) => Object.hasOwn(s.alloc.links, k))) {
        const alloc: Allocations = { ...s.alloc, links: { ...s.alloc.links } };
        for (const k of removed) delete alloc.links[k];
        tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(alloc));
      }
      if (changedDevices.length) tx.op('SADD', this.fk(f, 'needs'), ...changedDevices);
      this.event(tx, f, { actor: ctx.actor ?? 'discovery', action: 'links.replaced', object: `fabric/${f}`, details: { added, removed, changedDevices } });
      return result;
    });
  }

  // ----------------------------------------------------------------------------- needsConfig markers

  async listNeedsConfig(f: string): Promise<string[]> {
    return (await this.redis.smembers(this.fk(f, 'needs'))).sort();
  }
  // These bump the commit version so a rename in flight retries and moves the marker.
  async markNeedsConfig(f: string, devices: string[]): Promise<void> {
    if (devices.length) await this.redis.multi().sadd(this.fk(f, 'needs'), ...devices).incr(this.fk(f, 'ver')).exec();
  }
  async clearNeedsConfig(f: string, devices: string[]): Promise<void> {
    if (devices.length) await this.redis.multi().srem(this.fk(f, 'needs'), ...devices).incr(this.fk(f, 'ver')).exec();
  }

  // ----------------------------------------------------------------------------- allocations

  async getAllocations(f: string): Promise<Allocations> {
    const [ex, v] = await Promise.all([this.redis.hexists(this.fabricsKey, f), this.redis.get(this.fk(f, 'alloc'))]);
    if (!ex) throw notFound(`fabric ${f}`);
    return v ? JSON.parse(v) as Allocations : emptyAllocations();
  }

  private writeAllocation(s: Snapshot, tx: Tx, f: string, ctx: Actor): Allocations {
    // Every device gets a loopback and an ASN (also discovered ones without a role yet, so a
    // brownfield import is kept); /31s go to links among devices with a role (addressing
    // depends on the physical roles). Placeholders only reach allocate(), never Redis.
    const file = this.fileOf(s);
    const inFile = new Set(file.devices.map((d) => d.name));
    for (const d of s.devices.values()) {
      if (!inFile.has(d.name)) file.devices.push({ name: d.name, profile: d.profile ?? 'unknown', physicalRole: d.physicalRole ?? 'leaf', roles: [] });
    }
    const next = this.allocate(file, s.alloc);
    // Never hand out twice, never renumber: a defect in the pure function must not reach Redis.
    const dup = duplicateAllocation(next);
    if (dup) throw new Error(`allocation refused: ${dup}`);
    for (const [d, ip] of Object.entries(s.alloc.loopbacks)) if (Object.hasOwn(next.loopbacks, d) && next.loopbacks[d] !== ip) throw new Error(`allocation refused: would renumber loopback of ${d}`);
    for (const [d, a] of Object.entries(s.alloc.asns)) if (Object.hasOwn(next.asns, d) && next.asns[d] !== a) throw new Error(`allocation refused: would renumber ASN of ${d}`);
    for (const [k, c] of Object.entries(s.alloc.links)) if (Object.hasOwn(next.links, k) && next.links[k] !== c) throw new Error(`allocation refused: would renumber link ${k}`);
    if (sameAllocations(next, s.alloc)) return next;
    tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(next));
    const count = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(a).filter((k) => !Object.hasOwn(b, k)).length;
    this.event(tx, f, {
      actor: ctx.actor, action: 'allocations.updated', object: `fabric/${f}`,
      details: {
        loopbacks: count(next.loopbacks, s.alloc.loopbacks), asns: count(next.asns, s.alloc.asns),
        links: count(next.links, s.alloc.links),
      },
    });
    return next;
  }

  /**
   * Runs the pure allocate() over the current inventory and writes the result atomically:
   * safe with any number of processes allocating at once (optimistic, version-checked commit).
   */
  async allocateFabric(f: string, ctx: Actor = {}): Promise<Allocations> {
    return this.mutate(f, 'allocateFabric', (s, tx) => {
      this.need(s, f);
      return this.writeAllocation(s, tx, f, ctx);
    });
  }

  /**
   * Brownfield import: merges existing addresses/ASNs into the record. Refused when an entry
   * names an unknown device/link, falls outside the pools, or duplicates another holder.
   */
  async importAllocations(f: string, imp: Partial<Allocations>, ctx: Actor = {}): Promise<Allocations> {
    return this.mutate(f, 'importAllocations', (s, tx) => {
      const fab = this.need(s, f);
      const next: Allocations = {
        loopbacks: { ...s.alloc.loopbacks, ...(imp.loopbacks ?? {}) },
        asns: { ...s.alloc.asns, ...(imp.asns ?? {}) },
        links: { ...s.alloc.links, ...(imp.links ?? {}) },
      };
      for (const d of [...Object.keys(imp.loopbacks ?? {}), ...Object.keys(imp.asns ?? {})]) {
        if (!s.devices.has(d)) throw invalid(`allocations: no device ${d} in fabric ${f}`, `allocations.${d}`);
      }
      for (const k of Object.keys(imp.links ?? {})) if (!s.links.has(k)) throw invalid(`allocations.links: no link ${k} in fabric ${f}`, `allocations.links`);
      const dup = duplicateAllocation(next);
      if (dup) throw conflict(`allocations: ${dup}`, 'allocations');
      const o = orphanedAllocation(fab.namespaces, next);
      if (o) throw invalid(o.message.replace(/would fall/, 'falls').replace(/^namespaces\.\w+: /, 'allocations: '), 'allocations');
      if (sameJson(next, s.alloc)) return next;
      tx.op('SET', this.fk(f, 'alloc'), JSON.stringify(next));
      this.event(tx, f, {
        actor: ctx.actor, action: 'allocations.imported', object: `fabric/${f}`,
        details: { loopbacks: Object.keys(imp.loopbacks ?? {}).length, asns: Object.keys(imp.asns ?? {}).length, links: Object.keys(imp.links ?? {}).length },
      });
      return next;
    });
  }

  // ----------------------------------------------------------------------------- jobs

  private parseJob(h: Record<string, string>): Omit<JobRecord, 'steps' | 'log' | 'logCount'> {
    const j: Omit<JobRecord, 'steps' | 'log' | 'logCount'> = {
      id: h.id, type: h.type, fabric: h.fabric ? h.fabric : null, state: h.state as JobState,
      progress: Number(h.progress ?? 0), createdAt: h.createdAt,
    };
    if (h.params) j.params = JSON.parse(h.params);
    if (h.result) j.result = JSON.parse(h.result);
    if (h.error) j.error = h.error;
    if (h.parentId) j.parentId = h.parentId;
    if (h.startedAt) j.startedAt = h.startedAt;
    if (h.finishedAt) j.finishedAt = h.finishedAt;
    return j;
  }

  private stepField(s: { name: string; device?: string }): string { return `${s.device ?? ''}\u0001${s.name}`; }

  /** Creates a job record (state queued unless given). Params are redacted before they are stored. */
  async createJob(input: NewJob): Promise<JobRecord> {
    const id = input.id ?? randomUUID();
    if (!/^[A-Za-z0-9:_.\-]{1,128}$/.test(id)) throw invalid(`job id ${JSON.stringify(id)} is not valid`, 'id');
    const state = input.state ?? 'queued';
    if (!JOB_STATES.includes(state)) throw invalid(`state: "${state}" is not one of ${JOB_STATES.join(', ')}`, 'state');
    const at = now();
    const fields: Record<string, string> = { id, type: input.type, fabric: input.fabric ?? '', state, progress: '0', createdAt: at };
    if (input.params !== undefined) fields.params = JSON.stringify(redactSecrets(input.params));
    if (input.parentId) fields.parentId = input.parentId;
    const steps = input.steps ?? [];
    const flat = Object.entries(fields).flat();
    const stepArgs = steps.flatMap((st) => [this.stepField(st), JSON.stringify(st)]);
    const keys = [this.jobKey(id), `${this.prefix}jobs`, input.fabric ? this.fk(input.fabric, 'jobs') : `${this.prefix}jobs`,
      this.jobKey(id, 'steps'), this.jobKey(id, 'stepord')];
    const ok = await this.r.fzJobCreate(keys.length, ...keys, Date.now(), flat.length, ...flat, ...stepArgs);
    if (ok !== 1) throw conflict(`job ${id} already exists`, 'id');
    return { ...this.parseJob(fields), steps, log: [], logCount: 0 };
  }

  async getJob(id: string, opts: { logLimit?: number } = {}): Promise<JobRecord | null> {
    const limit = opts.logLimit ?? 1000;
    const res = await this.redis.pipeline()
      .hgetall(this.jobKey(id))
      .hgetall(this.jobKey(id, 'steps'))
      .hgetall(this.jobKey(id, 'stepord'))
      .lrange(this.jobKey(id, 'log'), limit > 0 ? -limit : 1, limit > 0 ? -1 : 0)
      .llen(this.jobKey(id, 'log'))
      .exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    const h = res[0][1] as Record<string, string>;
    if (!h || !h.id) return null;
    const steps = res[1][1] as Record<string, string>;
    const ord = res[2][1] as Record<string, string>;
    const list = Object.entries(steps)
      .sort(([a], [b]) => Number(ord[a] ?? 1e9) - Number(ord[b] ?? 1e9))
      .map(([, v]) => JSON.parse(v) as JobStep);
    return {
      ...this.parseJob(h),
      steps: list,
      log: (res[3][1] as string[]).map((l) => JSON.parse(l) as JobLogLine),
      logCount: res[4][1] as number,
    };
  }

  /**
   * Updates state/progress/result/error. A finished job is frozen: returns false and changes
   * nothing (a late worker cannot flip a cancelled job to succeeded). Throws not_found.
   */
  async updateJob(id: string, upd: JobUpdate): Promise<boolean> {
    if (upd.state !== undefined && !JOB_STATES.includes(upd.state)) throw invalid(`state: "${upd.state}" is not one of ${JOB_STATES.join(', ')}`, 'state');
    const args: string[] = [upd.state ?? '', now()];
    if (upd.progress !== undefined) args.push('progress', String(Math.max(0, Math.min(100, Math.round(upd.progress)))));
    if (upd.result !== undefined) args.push('result', JSON.stringify(redactSecrets(upd.result)));
    if (upd.error !== undefined) args.push('error', upd.error);
    const r = await this.r.fzJobUpdate(1, this.jobKey(id), ...args) as number;
    if (r === -1) throw notFound(`job ${id}`);
    return r === 1;
  }

  /** Replaces the step list (order as given). */
  async setJobSteps(id: string, steps: JobStep[]): Promise<void> {
    const m = this.redis.multi().del(this.jobKey(id, 'steps')).del(this.jobKey(id, 'stepord'));
    steps.forEach((st, i) => {
      m.hset(this.jobKey(id, 'steps'), this.stepField(st), JSON.stringify(st));
      m.hset(this.jobKey(id, 'stepord'), this.stepField(st), String(i));
    });
    await m.exec();
  }

  /** Sets one step's state (identified by name + device); a new step is appended. One atomic command. */
  async updateJobStep(id: string, step: { name: string; device?: string; state: StepState; message?: string }): Promise<void> {
    const st: JobStep = { name: step.name, state: step.state };
    if (step.device) st.device = step.device;
    if (step.message) st.message = step.message;
    const r = await this.r.fzJobStep(3, this.jobKey(id, 'steps'), this.jobKey(id, 'stepord'), this.jobKey(id), this.stepField(st), JSON.stringify(st));
    if (r === -1) throw notFound(`job ${id}`);
  }

  /** Appends log lines (one RPUSH; the oldest beyond maxJobLog are dropped). */
  async appendJobLog(id: string, lines: { message: string; device?: string; level?: JobLogLine['level']; at?: string } | { message: string; device?: string; level?: JobLogLine['level']; at?: string }[]): Promise<void> {
    const arr = Array.isArray(lines) ? lines : [lines];
    if (!arr.length) return;
    const at = now();
    const enc = arr.map((l) => {
      const o: JobLogLine = { at: l.at ?? at, message: l.message };
      if (l.device) o.device = l.device;
      if (l.level) o.level = l.level;
      return JSON.stringify(o);
    });
    await this.redis.pipeline().rpush(this.jobKey(id, 'log'), ...enc).ltrim(this.jobKey(id, 'log'), -this.maxJobLog, -1).exec();
  }

  /** Newest first; steps and log omitted (empty) for speed: use getJob for one. */
  async listJobs(opts: { fabric?: string; state?: JobState; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = Math.max(1, Math.min(opts.limit ?? 50, 1000));
    const idx = opts.fabric ? this.fk(opts.fabric, 'jobs') : `${this.prefix}jobs`;
    // Over-fetch when filtering by state so a page is still full.
    const ids = await this.redis.zrevrange(idx, 0, (opts.state ? limit * 5 : limit) - 1);
    if (!ids.length) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.jobKey(id));
    const res = (await p.exec()) ?? [];
    const out: JobRecord[] = [];
    for (const [err, h] of res) {
      if (err || !h || !(h as Record<string, string>).id) continue;
      const j = this.parseJob(h as Record<string, string>);
      if (opts.state && j.state !== opts.state) continue;
      out.push({ ...j, steps: [], log: [], logCount: 0 });
      if (out.length >= limit) break;
    }
    return out;
  }

  // ----------------------------------------------------------------------------- fabric lock

  /**
   * One fabric-level job at a time. The lock expires after `ttlMs` unless refreshed, so a
   * SIGKILLed worker's lock goes away. Re-acquiring with the same job id refreshes it.
   */
  async acquireFabricLock(f: string, jobId: string, ttlMs: number): Promise<LockResult> {
    const r = await this.r.fzLockAcquire(1, this.lockKey(f), jobId, Math.max(1, Math.round(ttlMs))) as [number, string];
    return r[0] === 1 ? { ok: true } : { ok: false, heldBy: r[1] };
  }
  /** Extends the TTL; false when the lock is no longer ours (expired or taken). */
  async refreshFabricLock(f: string, jobId: string, ttlMs: number): Promise<boolean> {
    return (await this.r.fzLockRefresh(1, this.lockKey(f), jobId, Math.max(1, Math.round(ttlMs)))) === 1;
  }
  /** Releases only when `jobId` holds it. */
  async releaseFabricLock(f: string, jobId: string): Promise<boolean> {
    return (await this.r.fzLockRelease(1, this.lockKey(f), jobId)) === 1;
  }
  async getFabricLock(f: string): Promise<string | null> {
    return this.redis.get(this.lockKey(f));
  }

  // ----------------------------------------------------------------------------- events

  /** Appends one event (details redacted). Writes done by the store add their own events. */
  async appendEvent(f: string, ev: NewEvent): Promise<string> {
    const fields: string[] = ['at', now(), 'actor', ev.actor ?? 'system', 'action', ev.action, 'object', ev.object];
    if (ev.details !== undefined) fields.push('details', JSON.stringify(redactSecrets(ev.details)));
    return (await this.redis.xadd(this.fk(f, 'events'), '*', ...fields)) as string;
  }

  /**
   * Events oldest first. `since`: an event id (exclusive) or an ISO time (inclusive);
   * `next` is the id to pass as `since` for the following page.
   */
  async listEvents(f: string, opts: { since?: string; limit?: number } = {}): Promise<{ items: EventRecord[]; next?: string }> {
    const limit = Math.max(1, Math.min(opts.limit ?? 100, 10_000));
    let start = '-';
    if (opts.since) {
      if (/^\d+-\d+$/.test(opts.since)) start = `(${opts.since}`;
      else {
        // Only an ISO time (Date.parse also reads "57" as the year 1957: a negative stream id).
        const t = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(opts.since) ? Date.parse(opts.since) : NaN;
        if (Number.isNaN(t) || t < 0) throw invalid(`since: "${opts.since}" is neither an event id nor an ISO time`, 'since');
        start = `${t}-0`;
      }
    }
    const rows = await this.redis.xrange(this.fk(f, 'events'), start, '+', 'COUNT', limit);
    const items = rows.map(([id, flat]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
      const e: EventRecord = { id, at: o.at, actor: o.actor, action: o.action, object: o.object };
      if (o.details !== undefined) e.details = JSON.parse(o.details);
      return e;
    });
    return items.length === limit ? { items, next: items[items.length - 1].id } : { items };
  }

  // ----------------------------------------------------------------------------- config history / intended cache

  private async deviceId(f: string, d: string): Promise<string> {
    const v = await this.redis.hget(this.fk(f, 'devices'), d);
    if (!v) throw notFound(`device ${d} in fabric ${f}`);
    return (JSON.parse(v) as DeviceRecord).id;
  }

  /** Records a committed config (newest first, the last 100 kept). */
  async addConfigCommit(f: string, d: string, c: Omit<ConfigCommit, 'at'> & { at?: string }): Promise<void> {
    const id = await this.deviceId(f, d);
    const rec: ConfigCommit = { at: c.at ?? now(), jobId: c.jobId, text: c.text };
    if (c.diff !== undefined) rec.diff = c.diff;
    if (c.platform !== undefined) rec.platform = c.platform;
    await this.redis.multi().lpush(this.cfgKey(f, id), JSON.stringify(rec)).ltrim(this.cfgKey(f, id), 0, 99).exec();
  }

  async listConfigCommits(f: string, d: string, opts: { limit?: number } = {}): Promise<ConfigCommit[]> {
    const id = await this.deviceId(f, d);
    const rows = await this.redis.lrange(this.cfgKey(f, id), 0, Math.max(1, opts.limit ?? 10) - 1);
    return rows.map((r) => JSON.parse(r) as ConfigCommit);
  }

  /** Cached intended config, valid only for the inventory version it was computed from. */
  async getIntendedConfig(f: string, d: string): Promise<IntendedConfig | null> {
    const v = await this.redis.hget(this.fk(f, 'intended'), d);
    return v ? JSON.parse(v) as IntendedConfig : null;
  }

  /** Caches an intended config computed from inventory `version`; dropped when the inventory moved on. */
  async setIntendedConfig(f: string, d: string, cfg: IntendedConfig, version: number): Promise<boolean> {
    return (await this.r.fzIntendedSet(2, this.fk(f, 'iver'), this.fk(f, 'intended'), String(version), d, JSON.stringify(cfg))) === 1;
  }
}
