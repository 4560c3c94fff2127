// The job system: queues, flows and workers. Submitting a fabric job takes the fabric lock
// (a second one gets the running job's id), writes the job record and adds the parent job.
// The parent plans, adds one child per device on `device-ops`, waits for them (a failed child
// does not hold the others: ignoreDependencyOnFailure), then finalizes and releases the lock.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DelayedError, Job, Queue, UnrecoverableError, WaitingChildrenError, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelledError, JobFailedError, ShutdownError, errorMessage, isTransient } from './errors';
import { FollowUps } from './followup';
import { LogLimiter } from '../log-limit';
import { SHARED, flushSharedMetrics, sharedMetrics } from '../metrics/shared';
import { FabricLock, FINAL_STATES, JobRecords, type JobView, type LockBackend, type StepState } from './records';
import {
  DEVICE_QUEUE, QUEUE_NAMES, JobTypes,
  type DeviceContext, type JobServices, type JobTypeDef, type QueueName,
} from './registry';

export class JobConflictError extends Error {
  constructor(readonly fabric: string, readonly jobId: string) {
    super(`fabric "${fabric}" already has a running job ${jobId}`);
    this.name = 'JobConflictError';
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`job "${jobId}" not found`);
    this.name = 'JobNotFoundError';
  }
}

export class JobFinishedError extends Error {
  constructor(readonly jobId: string, readonly state: string) {
    super(`job "${jobId}" already ${state}`);
    this.name = 'JobFinishedError';
  }
}

export interface JobSystemOptions {
  /** Connection for queues and records (ioredis from connectRedis). */
  connection: Redis;
  /** Connection for the queues when it must differ from `connection`: on a cluster BullMQ refuses ioredis' keyPrefix (store: connectQueueRedis). Closed by close()/shutdown(). */
  queueConnection?: Redis;
  /** Makes fresh connections for workers (BullMQ workers block on their own). */
  connect: () => Redis;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  /** The store (its fabric lock). */
  lockBackend: LockBackend;
  /** Fabric lock TTL; live jobs keep extending it, a dead worker's lock expires (default 60 s). */
  lockTtlMs?: number;
  /** The job types this system submits and runs (src/jobs/runtime.ts builds the service's). */
  types: JobTypes;
}

export interface WorkerOptions {
  /** Device jobs at once per worker process (default 50). */
  concurrency?: number;
  /** Parent (fabric) jobs at once per worker process (default 20; they mostly wait). */
  parentConcurrency?: number;
  /** BullMQ job lock; a worker that dies is noticed after about this long (default 30 s). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Queues this process works on (default all). */
  queues?: QueueName[];
  /** This process's name in BullMQ (a job's `processedBy`; default host:pid). */
  name?: string;
}

interface ParentData {
  jobId: string;
  type: string;
  fabric: string;
  params: Record<string, unknown>;
  phase?: 'plan' | 'wait';
  planData?: unknown;
  devices?: string[];
}

interface ChildData {
  jobId: string;
  type: string;
  fabric: string;
  /** Only in device jobs added by older versions: now read from the job record (jobParams). */
  params?: Record<string, unknown>;
  device: string;
  data?: unknown;
}

export const childJobId = (jobId: string, device: string) => `${jobId}__${device.replace(/:/g, '_')}`;
const LOCKED_SET = 'jobs:locked';
/** Device jobs per addBulk when a parent enqueues its children. */
const ADD_CHUNK = 250;
/** addBulk chunks in flight at once while a parent enqueues. */
const ADD_WINDOW = 4;
/** Jobs whose params a worker process keeps (jobParams). */
const PARAMS_CACHE = 64;

/** A type's device steps as processDevice needs them, worked out once per type, not per device. */
const stepInfo = new WeakMap<JobTypeDef, { stepNames: string[]; weights: Map<string, number>; totalWeight: number }>();
function stepsOf(def: JobTypeDef): { stepNames: string[]; weights: Map<string, number>; totalWeight: number } {
  let info = stepInfo.get(def);
  if (!info) {
    info = {
      stepNames: def.deviceSteps.map((s) => s.name),
      weights: new Map(def.deviceSteps.map((s) => [s.name, s.weight])),
      totalWeight: def.deviceSteps.reduce((a, s) => a + s.weight, 0) || 1,
    };
    stepInfo.set(def, info);
  }
  return info;
}

export interface JobEvents {
  onFinished?(view: { id: string; type: string; state: string; durationMs: number }): void;
}

export class JobSystem {
  readonly records: JobRecords;
  readonly lock: FabricLock;
  readonly followUps: FollowUps;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly prefix: string;
  private workers: Worker[] = [];
  private keeper?: NodeJS.Timeout;
  /** Set by shutdown(): handlers stop at their next step and hand the job back. */
  private stopping = false;
  private workerConnections: Redis[] = [];
  private readonly paramsCache = new Map<string, Promise<Record<string, unknown>>>();
  /** worker error lines, one per queue per 30 s (src/log-limit.ts) */
  private workerErrors?: LogLimiter;
  events: JobEvents = {};

  /** The types this system runs. */
  get types(): JobTypes { return this.opts.types; }

  constructor(private readonly opts: JobSystemOptions) {
    this.records = new JobRecords(opts.connection);
    this.lock = new FabricLock(opts.lockBackend, opts.lockTtlMs ?? 60_000);
    this.prefix = opts.prefix ?? 'bull';
    this.followUps = new FollowUps(opts.connection);
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: (this.opts.queueConnection ?? this.opts.connection) as ConnectionOptions, prefix: this.prefix });
      q.on('error', () => { /* connection errors surface through ioredis reconnects */ });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Enqueues a job of `type` for `fabric`; returns its id. Throws JobConflictError when the type
   * takes the fabric lock and another job holds it. Params are stored and shown: no secrets.
   */
  async submit(type: string, fabric: string, params: Record<string, unknown> = {}): Promise<string> {
    const routing = this.routingOf(type);
    const id = randomUUID();
    if (routing.fabricLock) await this.takeLock(fabric, id);
    await this.enqueue(id, type, fabric, params, { createRecord: true });
    return id;
  }

  /**
   * The push of an intent change: started now when the fabric is free, else merged into the
   * fabric's one pending follow-up job, which starts when the running job ends. Never refused
   * because a job runs. Returns the job that will push `devices` (and the one it waits for).
   */
  async submitFollowUp(type: string, fabric: string, devices: string[], params: Record<string, unknown> = {}): Promise<{ jobId: string; behind?: string }> {
    const routing = this.routingOf(type);
    if (!routing.fabricLock) throw new Error(`job type ${type}: follow-ups need a fabric-lock type`);
    const id = randomUUID();
    // Nothing pending and the fabric free: an ordinary job.
    if (!(await this.followUps.pendingId(fabric))) {
      try {
        await this.takeLock(fabric, id);
        await this.enqueue(id, type, fabric, { ...params, devices: [...devices].sort() }, { createRecord: true });
        return { jobId: id };
      } catch (e) {
        if (!(e instanceof JobConflictError)) throw e;
      }
    }
    const merged = await this.followUps.merge(fabric, id, type, params, devices);
    const behind = await this.lock.holder(fabric);
    if (merged.created) {
      await this.records.create(merged.id, type, fabric, { ...params, devices: [...devices].sort() });
      await this.records.log(merged.id, `queued: starts when the fabric is free${behind ? ` (job ${behind} runs)` : ''}; later changes join it`);
    }
    // The running job may have ended between our lock attempt and the merge.
    await this.startFollowUp(fabric);
    return { jobId: merged.id, ...(behind && behind !== merged.id ? { behind } : {}) };
  }

  /** Starts the fabric's pending follow-up when the lock is free (no-op otherwise). Bounded. */
  async startFollowUp(fabric: string): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const id = await this.followUps.pendingId(fabric);
      if (!id) { await this.followUps.forget(fabric); return; }
      let st = await this.records.state(id);
      if (!st) {
        // Its writer has not written the record yet (or died just before): write it (idempotent).
        const peek = await this.followUps.peek(fabric, id);
        if (!peek) continue;
        await this.records.create(id, peek.type, fabric, { ...peek.params, devices: peek.devices });
        st = 'queued';
      }
      if (FINAL_STATES.includes(st)) { await this.followUps.take(fabric, id); continue; } // cancelled while pending
      try {
        await this.takeLock(fabric, id);
      } catch (e) {
        if (e instanceof JobConflictError) return; // still busy: the holder starts it when it ends
        throw e;
      }
      // Another process may start the same id (it holds the same lock value): only the one
      // whose take succeeds enqueues; the other leaves the lock alone.
      const taken = await this.followUps.take(fabric, id);
      if (!taken) return;
      const params = { ...taken.params, devices: taken.devices };
      await this.records.setParams(id, params);
      await this.enqueue(id, taken.type, fabric, params, { createRecord: false });
      return;
    }
  }

  private routingOf(type: string): { queue: QueueName; fabricLock: boolean } {
    const routing = this.opts.types.routing(type);
    // A type this process does not know would land on the wrong queue: refuse it.
    if (!routing) throw new Error(`unknown job type "${type}" (known: ${this.opts.types.known().join(', ')})`);
    return routing;
  }

  /** The parent job for a lock already taken (or no lock): record, then BullMQ. */
  private async enqueue(id: string, type: string, fabric: string, params: Record<string, unknown>, o: { createRecord: boolean }): Promise<void> {
    const routing = this.routingOf(type);
    try {
      if (o.createRecord) await this.records.create(id, type, fabric, params);
      const data: ParentData = { jobId: id, type, fabric, params, phase: 'plan' };
      await this.queue(routing.queue).add(type, data, {
        jobId: id,
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
    } catch (e) {
      if (routing.fabricLock) await this.dropLock(fabric, id);
      await this.records.finish(id, 'failed', { error: `could not enqueue: ${errorMessage(e)}` }).catch(() => undefined);
      throw e;
    }
  }

  private async takeLock(fabric: string, id: string): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const holder = await this.lock.acquire(fabric, id);
      if (!holder) {
        await this.opts.connection.sadd(LOCKED_SET, `${fabric}\n${id}`);
        return;
      }
      // A holder whose record is finished or gone left a stale lock (e.g. its process died
      // between finishing and releasing): free it once, then try again.
      const st = await this.records.state(holder);
      if (st && !FINAL_STATES.includes(st)) throw new JobConflictError(fabric, holder);
      await this.lock.release(fabric, holder);
    }
    const holder = await this.lock.holder(fabric);
    throw new JobConflictError(fabric, holder ?? 'unknown');
  }

  private async dropLock(fabric: string, id: string): Promise<void> {
    await this.lock.release(fabric, id);
    await this.opts.connection.srem(LOCKED_SET, `${fabric}\n${id}`);
    // A change made while this job ran waits as a follow-up: its turn now.
    await this.startFollowUp(fabric).catch(() => undefined);
  }

  async get(id: string, opts?: { logLimit?: number }): Promise<JobView | undefined> {
    return this.records.get(id, opts);
  }

  /**
   * Cancel: a job not started yet is removed; otherwise the flag is set, device jobs not yet
   * started are removed, running ones stop at their next step, and the parent finalizes as
   * cancelled.
   */
  async cancel(id: string): Promise<JobView> {
    const view = await this.records.get(id, { logLimit: 1 });
    if (!view) throw new JobNotFoundError(id);
    if (FINAL_STATES.includes(view.state)) throw new JobFinishedError(id, view.state);
    await this.records.requestCancel(id);
    await this.records.log(id, 'cancel requested');
    const routing = this.opts.types.routing(view.type) ?? { queue: DEVICE_QUEUE, fabricLock: false };
    const parent = await Job.fromId(this.queue(routing.queue), id);
    const pstate = parent ? await parent.getState() : 'unknown';
    if (!parent || pstate === 'waiting' || pstate === 'delayed' || pstate === 'prioritized' || pstate === 'unknown') {
      let removed = !parent;
      if (parent) {
        try { await parent.remove(); removed = true; } catch { removed = false; }
      }
      if (removed) {
        await this.records.setStep(id, 'plan', 'cancelled');
        await this.records.finish(id, 'cancelled', { message: 'cancelled before it started' });
        if (view.fabric && routing.fabricLock) await this.dropLock(view.fabric, id);
        this.jobFinished({ id, type: view.type, state: 'cancelled', durationMs: 0 });
        return (await this.records.get(id))!;
      }
    }
    // Children not started yet: remove them (BullMQ frees the parent once none is pending).
    const devQ = this.queue(DEVICE_QUEUE);
    const def = this.opts.types.get(view.type);
    const stepNames = def ? def.deviceSteps.map((s) => s.name) : [];
    for (const [device, outcome] of Object.entries(view.devices)) {
      if (outcome.state !== 'queued') continue;
      const child = await Job.fromId(devQ, childJobId(id, device));
      if (!child) continue;
      const st = await child.getState();
      if (st !== 'waiting' && st !== 'delayed' && st !== 'prioritized') continue;
      try {
        await child.remove();
        await this.records.deviceDone(id, device, { state: 'cancelled', progress: 0 },
          Object.fromEntries(stepNames.map((s) => [s, 'cancelled' as StepState])), 'cancelled before it started');
      } catch { /* started meanwhile: it sees the flag at its next step */ }
    }
    return (await this.records.get(id))!;
  }

  /** Starts workers for every queue in this process. Handlers must be registered first. */
  async startWorkers(services: JobServices, wopts: WorkerOptions = {}): Promise<void> {
    const queues = wopts.queues ?? [...QUEUE_NAMES];
    const common = {
      prefix: this.prefix,
      lockDuration: wopts.lockDurationMs ?? 30_000,
      stalledInterval: wopts.stalledIntervalMs ?? Math.min(30_000, wopts.lockDurationMs ?? 30_000),
      maxStalledCount: 1,
    };
    this.workerErrors?.stop();
    const errors = new LogLimiter((line, meta) => services.logger.warn({ queue: meta.source, ...(meta.suppressed ? { suppressed: meta.suppressed } : {}) }, line), { intervalMs: 30_000 });
    this.workerErrors = errors;
    const mk = (name: QueueName, proc: (job: Job, token?: string) => Promise<unknown>, concurrency: number) => {
      const conn = this.opts.connect();
      this.workerConnections.push(conn);
      const w = new Worker(name, proc, { ...common, connection: conn as ConnectionOptions, concurrency, name: wopts.name ?? `${hostname()}:${process.pid}` });
      // A Redis outage makes every reconnect attempt an error: one line per queue per 30 s.
      w.on('error', (e) => { errors.log(name, 'error', () => `worker error on ${name}: ${errorMessage(e)}`); });
      return w;
    };
    for (const name of queues) {
      if (name === DEVICE_QUEUE) {
        const w = mk(name, (job, token) => this.processDevice(job, token, services), wopts.concurrency ?? 50);
        w.on('failed', (job, err) => { if (job) void this.onDeviceFailed(job, err, services); });
        this.workers.push(w);
      } else {
        const w = mk(name, (job, token) => this.processParent(job, token, services), wopts.parentConcurrency ?? 20);
        w.on('failed', (job, err) => { if (job) void this.onParentFailed(job, err, services); });
        this.workers.push(w);
      }
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    // Keep the fabric locks of live jobs; a lock of a dead process expires by its TTL.
    const period = Math.max(200, Math.floor(this.lock.ttlMs / 3));
    this.keeper = setInterval(() => { void this.keepLocks(services).catch(() => undefined); }, period);
    this.keeper.unref();
  }

  private async keepLocks(services: JobServices): Promise<void> {
    for (const f of await this.followUps.fabrics()) await this.startFollowUp(f);
    const entries = await this.opts.connection.smembers(LOCKED_SET);
    for (const e of entries) {
      const [fabric, id] = e.split('\n');
      const st = await this.records.state(id);
      if (!st || FINAL_STATES.includes(st)) {
        await this.dropLock(fabric, id);
        continue;
      }
      if (!(await this.lock.extend(fabric, id))) {
        // Expired while no worker was alive; take it back unless another job holds it now.
        const holder = await this.lock.acquire(fabric, id);
        if (holder && holder !== id) services.logger.warn({ jobId: id, fabric, holder }, 'fabric lock taken by another job');
      }
    }
  }

  private ctxBase(def: JobTypeDef | undefined, d: { jobId: string; type: string; fabric: string; params: Record<string, unknown> }, services: JobServices) {
    const records = this.records;
    return {
      jobId: d.jobId,
      type: d.type,
      fabric: d.fabric,
      params: d.params,
      services,
      log: (message: string) => records.log(d.jobId, message),
      checkCancel: async () => {
        if (this.stopping) throw new ShutdownError();
        if (await records.cancelRequested(d.jobId)) throw new CancelledError();
      },
    };
  }

  private async processParent(job: Job, token: string | undefined, services: JobServices): Promise<unknown> {
    const d = job.data as ParentData;
    const log = services.logger.child({ jobId: d.jobId, type: d.type, fabric: d.fabric });
    // Handlers log through ctx.services.logger: every line of theirs carries the job too.
    services = { ...services, logger: log };
    const def = this.opts.types.get(d.type);
    const routing = this.opts.types.routing(d.type);
    const release = async () => { if (routing?.fabricLock) await this.dropLock(d.fabric, d.jobId); };
    const started = Date.parse((await this.opts.connection.hget(`job:${d.jobId}`, 'createdAt')) ?? '') || Date.now();
    const done = async (state: 'succeeded' | 'failed' | 'cancelled', f: { result?: unknown; error?: string; message?: string }) => {
      const first = await this.records.finish(d.jobId, state, f);
      await release();
      if (first) {
        log.info({ state, error: f.error }, 'job finished');
        this.jobFinished({ id: d.jobId, type: d.type, state, durationMs: Date.now() - started });
      }
    };
    if (!def) {
      const msg = `no handler is registered for job type '${d.type}' (not available in this version)`;
      await this.records.setStep(d.jobId, 'plan', 'failed');
      await done('failed', { error: msg, message: msg });
      throw new UnrecoverableError(msg);
    }
    const base = this.ctxBase(def, d, services);
    let phase = d.phase ?? 'plan';
    if (phase === 'plan') {
      if (await this.records.cancelRequested(d.jobId)) {
        await this.records.setStep(d.jobId, 'plan', 'cancelled');
        await done('cancelled', { message: 'cancelled before it started' });
        return { cancelled: true };
      }
      await this.records.setRunning(d.jobId, job.attemptsMade + 1);
      if (job.attemptsMade > 0) await this.records.log(d.jobId, `attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}`);
      await this.records.setStep(d.jobId, 'plan', 'running');
      log.info('planning');
      let plan;
      try {
        plan = await def.plan(base);
      } catch (e) {
        if (e instanceof ShutdownError) {
          await this.records.log(d.jobId, 'planning handed back (the service is stopping); runs again on the next start');
          return this.handBack(job, token);
        }
        if (e instanceof CancelledError) {
          await this.records.setStep(d.jobId, 'plan', 'cancelled');
          await done('cancelled', { message: 'cancelled while planning' });
          return { cancelled: true };
        }
        const msg = errorMessage(e);
        if (isTransient(e) && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
          await this.records.log(d.jobId, `planning: ${msg}; retrying`);
          throw e;
        }
        await this.records.setStep(d.jobId, 'plan', 'failed');
        await done('failed', { error: msg, message: `planning failed: ${msg}` });
        throw new UnrecoverableError(msg);
      }
      const names = plan.devices.map((t) => t.device);
      await this.records.declareDevices(d.jobId, names, def.deviceSteps.map((s) => s.name));
      // Children first, then the phase: a crash in between re-plans. The children that exist
      // already (an earlier run may have added some chunks) are left alone: re-adding a FAILED
      // one makes BullMQ count it as a pending dependency again, and the parent waits forever.
      const toAdd = await this.missingChildren(job, d.jobId, plan.devices);
      // In chunks: workers start on the first devices while the rest are added (one addBulk of
      // 5,000 children held them all back for most of a second). A crash between chunks re-plans
      // and missingChildren adds only the rest.
      // A few chunks in flight at once: each waited for its reply before the next was sent, and
      // with busy workers (4 processes) that round trip, behind their traffic, made enqueueing
      // 5,000 children take 2-3 s. Each chunk is still its own MULTI, sent in order.
      const inFlight: Promise<unknown>[] = [];
      try {
        for (let at = 0; at < toAdd.length; at += ADD_CHUNK) {
          inFlight.push(this.addChildren(job, d, def, toAdd.slice(at, at + ADD_CHUNK)));
          if (inFlight.length >= ADD_WINDOW) await inFlight.shift();
        }
        await Promise.all(inFlight);
      } finally {
        await Promise.allSettled(inFlight); // none left unobserved when one failed
      }
      await this.records.setStep(d.jobId, 'plan', 'succeeded');
      await this.records.log(d.jobId, `planned ${names.length} device job${names.length === 1 ? '' : 's'}`);
      await job.updateData({ ...d, phase: 'wait', planData: plan.data, devices: names } satisfies ParentData);
      phase = 'wait';
    }
    if (phase === 'wait') {
      if (token && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
    }
    // Finalize: every child has finished (or was removed by cancel).
    await this.records.setStep(d.jobId, 'finalize', 'running');
    const cancelled = await this.records.cancelRequested(d.jobId);
    const devices = await this.records.devices(d.jobId);
    for (const [dev, o] of Object.entries(devices)) {
      if (o.state === 'queued' || o.state === 'running') {
        // A child that left no outcome (removed, or lost): say so instead of leaving it open.
        const st: StepState = cancelled ? 'cancelled' : 'failed';
        devices[dev] = { state: st, progress: o.progress, ...(cancelled ? {} : { error: 'device job ended without an outcome' }) };
        await this.records.deviceDone(d.jobId, dev, devices[dev],
          Object.fromEntries(def.deviceSteps.map((s) => [s.name, st === 'cancelled' ? 'cancelled' : 'skipped'])),
          cancelled ? 'cancelled' : 'device job ended without an outcome');
      }
    }
    const failed = Object.entries(devices).filter(([, o]) => o.state === 'failed');
    let result: unknown;
    /** Set when finalize says the job did not do all it was asked (JobFailedError). */
    let failure: string | undefined;
    try {
      result = def.finalize ? await def.finalize({ ...base, planData: (job.data as ParentData).planData, devices, cancelled }) : undefined;
    } catch (e) {
      if (e instanceof ShutdownError) return this.handBack(job, token);
      if (!(e instanceof JobFailedError)) {
        const msg = errorMessage(e);
        await this.records.setStep(d.jobId, 'finalize', 'failed');
        await done('failed', { error: msg, message: `finalize failed: ${msg}` });
        throw new UnrecoverableError(msg);
      }
      result = e.result;
      failure = e.message;
    }
    const total = Object.keys(devices).length;
    const summary = {
      devices: total,
      succeeded: Object.values(devices).filter((o) => o.state === 'succeeded').length,
      failed: failed.length,
      cancelled: Object.values(devices).filter((o) => o.state === 'cancelled').length,
    };
    await this.records.setStep(d.jobId, 'finalize', cancelled ? 'cancelled' : failed.length || failure ? 'failed' : 'succeeded');
    const fullResult = result === undefined ? summary : { ...summary, ...(typeof result === 'object' && result ? result : { value: result }) };
    if (cancelled) {
      await done('cancelled', { result: fullResult, message: `cancelled: ${summary.succeeded} of ${total} devices finished` });
    } else if (failed.length || failure) {
      const why = failed.slice(0, 5).map(([dev, o]) => `${dev}: ${o.error}`).join('; ');
      const devErr = failed.length ? `${failed.length} of ${total} device${total === 1 ? '' : 's'} failed: ${why}${failed.length > 5 ? '; ...' : ''}` : '';
      const error = [failure, devErr].filter(Boolean).join('; ');
      await done('failed', { result: fullResult, error, message: error });
    } else {
      await done('succeeded', { result: fullResult, message: `succeeded: ${total} device${total === 1 ? '' : 's'}` });
    }
    return fullResult;
  }

  /**
   * A running job's params, read from its record once per process: device jobs do not carry
   * them (with a device list in the params, 5,000 children carried 5,000 copies of it).
   */
  private jobParams(jobId: string): Promise<Record<string, unknown>> {
    let p = this.paramsCache.get(jobId);
    if (!p) {
      p = this.records.storedParams(jobId).then((params) => {
        // Never run a device with made-up params (a dry run must not become a push).
        if (!params) throw new UnrecoverableError(`job ${jobId} has no record (its params are gone)`);
        return params;
      });
      p.catch(() => this.paramsCache.delete(jobId)); // a failed read is not kept
      this.paramsCache.set(jobId, p);
      if (this.paramsCache.size > PARAMS_CACHE) this.paramsCache.delete(this.paramsCache.keys().next().value!);
    }
    return p;
  }

  private async processDevice(job: Job, token: string | undefined, services: JobServices): Promise<unknown> {
    const data = job.data as ChildData;
    const d = { ...data, params: data.params ?? await this.jobParams(data.jobId) };
    const t0 = performance.now();
    const def = this.opts.types.get(d.type);
    if (!def) throw new UnrecoverableError(`no handler is registered for job type '${d.type}' on this worker`);
    const { stepNames, weights, totalWeight } = stepsOf(def);
    // Every line about this device (ours and the handler's) carries the job id and the device.
    // The child logger is made when first used: making one (pino, with redaction) cost about a
    // third of the job system's own CPU per device, and most device jobs log nothing.
    const parent = services;
    let devLog: JobServices['logger'] | undefined;
    services = { ...parent, get logger() { return (devLog ??= parent.logger.child({ jobId: d.jobId, type: d.type, fabric: d.fabric, device: d.device })); } };
    const base = this.ctxBase(def, d, services);
    const records = this.records;
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const stepState: Record<string, StepState> = Object.fromEntries(stepNames.map((s) => [s, 'queued' as StepState]));
    let current: string | undefined;
    let doneWeight = 0;
    const step = async (name: string) => {
      if (!weights.has(name)) throw new Error(`job type ${d.type}: unknown device step "${name}"`);
      // Reaching the next step means the previous one is done; then honour a cancel.
      if (current) { stepState[current] = 'succeeded'; doneWeight += weights.get(current)!; }
      current = name;
      stepState[name] = 'running';
      // One round trip: record the step and read the cancel flag.
      // Step changes show in `steps`; the log says only what is worth reading (retries, outcomes).
      const cancelled = await records.deviceStep(d.jobId, d.device, { ...(stepState) }, doneWeight / totalWeight,
        attempt > 1 && name === stepNames[0] ? `attempt ${attempt} of ${maxAttempts}` : undefined, attempt);
      if (cancelled) throw new CancelledError();
      if (this.stopping) throw new ShutdownError();
    };
    const ctx: DeviceContext<Record<string, unknown>> = {
      ...base, log: (message: string) => records.log(d.jobId, message, d.device), device: d.device, data: d.data, planData: undefined, attempt, step,
    };
    try {
      await step(stepNames[0]);
      const result = await def.runDevice(ctx);
      if (current) stepState[current] = 'succeeded';
      for (const s of stepNames) if (stepState[s] === 'queued') stepState[s] = 'skipped';
      await records.deviceDone(d.jobId, d.device, { state: 'succeeded', progress: 1, attempts: attempt, ...(result === undefined ? {} : { result }) }, stepState, 'succeeded');
      this.deviceFinished(d.type, 'succeeded', t0);
      return result ?? null;
    } catch (e) {
      if (e instanceof ShutdownError) {
        await records.deviceStep(d.jobId, d.device, current ? { [current]: 'queued' } : {}, doneWeight / totalWeight,
          `${current ?? 'start'}: handed back (the service is stopping); runs again on the next start`);
        return this.handBack(job, token);
      }
      if (e instanceof CancelledError) {
        for (const s of stepNames) if (stepState[s] !== 'succeeded') stepState[s] = 'cancelled';
        await records.deviceDone(d.jobId, d.device, { state: 'cancelled', progress: doneWeight / totalWeight, attempts: attempt }, stepState, current ? `cancelled at step ${current}` : 'cancelled');
        this.deviceFinished(d.type, 'cancelled', t0);
        return { cancelled: true };
      }
      const msg = errorMessage(e);
      if (isTransient(e) && attempt < maxAttempts) {
        services.logger.warn({ attempt, err: msg }, 'transient device error, retrying');
        await records.deviceStep(d.jobId, d.device, current ? { [current]: 'queued' } : {}, doneWeight / totalWeight,
          `${current ?? 'start'}: ${msg} (attempt ${attempt} of ${maxAttempts}; retrying)`);
        throw e;
      }
      services.logger.warn({ step: current, err: msg }, 'device failed');
      if (current) stepState[current] = 'failed';
      for (const s of stepNames) if (stepState[s] === 'queued') stepState[s] = 'skipped';
      await records.deviceDone(d.jobId, d.device, { state: 'failed', progress: doneWeight / totalWeight, error: `${current ?? 'start'}: ${msg}`, attempts: attempt },
        stepState, `failed at ${current ?? 'start'}: ${msg}`);
      this.deviceFinished(d.type, 'failed', t0);
      throw new UnrecoverableError(msg);
    }
  }

  /**
   * Puts an active job back (delayed a second, no attempt spent): the next worker, here after
   * a restart or another process now, runs it again from its recorded phase.
   */
  private async handBack(job: Job, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }

  /**
   * Stops this process's workers in order: no new jobs, running steps end at their next step
   * boundary (handed back to the queue), `graceMs` later the rest are abandoned (their locks
   * lapse and another worker or the next start takes them). Bounded.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = undefined;
    const closing = this.workers.map((w) => w.close().catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.all(closing).then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); }),
    ]);
    if (timer) clearTimeout(timer);
    if (late) await Promise.all(this.workers.map((w) => w.close(true).catch(() => undefined)));
    this.workers = [];
    for (const c of this.workerConnections) c.disconnect();
    this.workerConnections = [];
    this.workerErrors?.stop();
    await flushSharedMetrics();
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
    this.opts.queueConnection?.disconnect();
  }

  /** A job's final state: this process's listeners, and the metrics every process adds to. */
  private jobFinished(e: { id: string; type: string; state: string; durationMs: number }): void {
    const m = sharedMetrics(this.opts.connection);
    m.inc(SHARED.jobsFinished, { type: e.type, state: e.state });
    if (e.durationMs > 0) m.observe(SHARED.jobDuration, { type: e.type, state: e.state }, e.durationMs / 1000);
    this.events.onFinished?.(e);
  }

  private deviceFinished(type: string, state: StepState, t0: number): void {
    const m = sharedMetrics(this.opts.connection);
    m.inc(SHARED.deviceJobs, { type, state });
    m.observe(SHARED.deviceJobDuration, { type, state }, (performance.now() - t0) / 1000);
  }

  /** Failures outside the processor (a job that stalled too often): record them. */
  private async onDeviceFailed(job: Job, err: Error, services: JobServices): Promise<void> {
    const d = job.data as ChildData;
    const willRetry = job.attemptsMade < (job.opts.attempts ?? 1) && !(err instanceof UnrecoverableError) && err.name !== 'UnrecoverableError';
    if (willRetry) return;
    const o = await this.records.device(d.jobId, d.device);
    if (o && (o.state === 'queued' || o.state === 'running')) {
      const def = this.opts.types.get(d.type);
      const steps = def ? Object.fromEntries(def.deviceSteps.map((s) => [s.name, 'skipped' as StepState])) : {};
      await this.records.deviceDone(d.jobId, d.device, { state: 'failed', progress: o.progress, error: err.message }, steps, `failed: ${err.message}`);
      services.logger.warn({ jobId: d.jobId, device: d.device, err: err.message }, 'device job failed');
    }
  }

  private async onParentFailed(job: Job, err: Error, services: JobServices): Promise<void> {
    const d = job.data as ParentData;
    const willRetry = job.attemptsMade < (job.opts.attempts ?? 1) && err.name !== 'UnrecoverableError';
    if (willRetry) return;
    if (await this.records.finish(d.jobId, 'failed', { error: err.message, message: `failed: ${err.message}` })) {
      services.logger.warn({ jobId: d.jobId, err: err.message }, 'job failed');
      this.jobFinished({ id: d.jobId, type: d.type, state: 'failed', durationMs: 0 });
    }
    if (this.opts.types.routing(d.type)?.fabricLock) await this.dropLock(d.fabric, d.jobId);
  }

  /** One chunk of device jobs, children of `parent`: one addBulk (one MULTI). */
  private addChildren(parent: Job, d: ParentData, def: JobTypeDef, tasks: { device: string; data?: unknown }[]): Promise<unknown> {
    return this.queue(DEVICE_QUEUE).addBulk(tasks.map((t) => ({
      name: `${d.type}:device`,
      data: { jobId: d.jobId, type: d.type, fabric: d.fabric, device: t.device, data: t.data } satisfies ChildData,
      opts: {
        jobId: childJobId(d.jobId, t.device),
        parent: { id: parent.id!, queue: parent.queueQualifiedName },
        ignoreDependencyOnFailure: true,
        attempts: def.attempts ?? 3,
        backoff: { type: 'exponential', delay: def.backoffMs ?? 500 },
        removeOnComplete: { age: 3600, count: 20_000 },
        removeOnFail: { age: 24 * 3600, count: 20_000 },
      },
    })));
  }

  /**
   * The tasks whose child job does not exist yet. A parent that has no dependency of any kind
   * (the first plan) has none: BullMQ records each child in its parent's sets in the script
   * that adds it. Else one pipeline of EXISTS (a re-plan after a crash).
   */
  private async missingChildren<T extends { device: string }>(parent: Job, jobId: string, tasks: T[]): Promise<T[]> {
    if (tasks.length === 0) return tasks;
    const deps = await parent.getDependenciesCount();
    if (Object.values(deps).every((n) => !n)) return tasks;
    const q = this.queue(DEVICE_QUEUE);
    const p = this.opts.connection.pipeline();
    for (const t of tasks) p.exists(q.toKey(childJobId(jobId, t.device)));
    const res = (await p.exec()) ?? [];
    return tasks.filter((_, i) => res[i]?.[1] !== 1);
  }

  /** Job counts per queue and BullMQ state (for /metrics). */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of QUEUE_NAMES) {
      out[name] = await this.queue(name).getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'waiting-children', 'prioritized');
    }
    return out;
  }

  async closeWorkers(): Promise<void> {
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = undefined;
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
    this.workers = [];
    for (const c of this.workerConnections) c.disconnect();
    this.workerConnections = [];
    this.workerErrors?.stop();
  }

  async close(): Promise<void> {
    await this.closeWorkers();
    await flushSharedMetrics();
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
    this.opts.queueConnection?.disconnect();
  }
}
