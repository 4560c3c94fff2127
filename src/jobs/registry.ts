// Job types plug in here. A fabric job is a BullMQ flow: a parent job for the fabric that plans
// (which devices, what each needs), a child job per device on the `device-ops` queue, and a
// finalize step once every child has finished (succeeded, failed or cancelled). Later issues
// (onboarding, autoconfigure push) register their own type or replace a step function:
//
//   types.register({
//     type: 'onboard', queue: 'discovery', fabricLock: true,
//     deviceSteps: [{ name: 'facts', weight: 1 }, { name: 'lldp', weight: 2 }],
//     plan: async (ctx) => ({ devices: [{ device: 'leaf1', data: {...} }], data: {...} }),
//     runDevice: async (ctx) => { await ctx.step('facts'); ...; await ctx.step('lldp'); return {...} },
//     finalize: async (ctx) => ({ found: Object.keys(ctx.devices).length }),
//   });
//
// A JobTypes registry holds the types of one JobSystem (`types.register(def)`).
// Handlers get `ctx.services` (store, config, logger, redis): the same functions the CLI calls.
// Throw TransientError (or a system error such as ECONNREFUSED) to be retried with exponential
// backoff; any other error fails that device at once. Never put secrets in job data, results or
// log lines: they are stored and shown by the API.
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import type { Store } from '../store';
import type { DeviceOutcome } from './records';

export type QueueName = 'discovery' | 'autoconfigure' | 'device-ops';
export const QUEUE_NAMES: readonly QueueName[] = ['discovery', 'autoconfigure', 'device-ops'];
export const DEVICE_QUEUE: QueueName = 'device-ops';

/** What handlers may use. */
export interface JobServices {
  redis: Redis;
  config: ServiceConfig;
  logger: Logger;
  store: Store;
}

interface BaseContext<P> {
  jobId: string;
  type: string;
  fabric: string;
  params: P;
  services: JobServices;
  /** Appends a line to the job's log (readable by `GET /jobs/{id}`). */
  log(message: string): Promise<void>;
  /** Throws CancelledError when the job was cancelled. */
  checkCancel(): Promise<void>;
}

export interface PlanContext<P> extends BaseContext<P> {}

export interface DeviceTask { device: string; data?: unknown }
export interface PlanResult { devices: DeviceTask[]; data?: unknown }

export interface DeviceContext<P> extends BaseContext<P> {
  device: string;
  data: unknown;
  planData: unknown;
  /** 1 for the first try. */
  attempt: number;
  /** Marks the previous step done and `name` running; stops here when the job was cancelled. */
  step(name: string): Promise<void>;
}

export interface FinalizeContext<P> extends BaseContext<P> {
  planData: unknown;
  devices: Record<string, DeviceOutcome>;
  cancelled: boolean;
}

export interface JobTypeDef<P = Record<string, unknown>> {
  type: string;
  /** Queue of the parent job. */
  queue: QueueName;
  /** One fabric-level job at a time per fabric (a second one is refused with 409 + jobId). */
  fabricLock: boolean;
  /** Device steps in order, with weights for progress. */
  deviceSteps: { name: string; weight: number }[];
  /** Attempts per device job (transient errors only), default 3; backoff exponential from 500 ms. */
  attempts?: number;
  backoffMs?: number;
  plan(ctx: PlanContext<P>): Promise<PlanResult>;
  runDevice(ctx: DeviceContext<P>): Promise<unknown>;
  /** Result of the whole job; may throw to fail it. */
  finalize?(ctx: FinalizeContext<P>): Promise<unknown>;
}

/** Routing facts the API needs even where no handler runs (API-only processes). */
const BUILTIN_ROUTING: ReadonlyMap<string, JobRouting> = new Map([
  ['autoconfigure', { queue: 'autoconfigure', fabricLock: true }],
  ['onboard', { queue: 'discovery', fabricLock: true }],
  ['rollback', { queue: 'autoconfigure', fabricLock: true }],
  ['upgrade', { queue: 'autoconfigure', fabricLock: true }],
  ['maintenance', { queue: 'autoconfigure', fabricLock: true }],
  ['remove-device', { queue: 'autoconfigure', fabricLock: true }],
  ['rma', { queue: 'autoconfigure', fabricLock: true }],
]);

export interface JobRouting { queue: QueueName; fabricLock: boolean }

/**
 * The job types one JobSystem runs: built by the entry point (src/jobs/runtime.ts) or a test and
 * handed to the JobSystem, never a module-level table, so two systems in one process (tests, the
 * API's and the workers' in `npm start`) cannot change each other's types.
 */
export class JobTypes {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly defs = new Map<string, JobTypeDef<any>>();

  register<P>(def: JobTypeDef<P>): this {
    if (!/^[a-z][a-z0-9-]*$/.test(def.type)) throw new Error(`job type "${def.type}": use [a-z0-9-]`);
    if (def.deviceSteps.length === 0) throw new Error(`job type "${def.type}": needs at least one device step`);
    this.defs.set(def.type, def as JobTypeDef<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    return this;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get(type: string): JobTypeDef<any> | undefined {
    return this.defs.get(type);
  }

  unregister(type: string): void {
    this.defs.delete(type);
  }

  names(): string[] {
    return [...this.defs.keys()].sort();
  }

  /** Queue and fabric lock of a type: its definition's, else the built-in facts (an API-only process). */
  routing(type: string): JobRouting | undefined {
    const d = this.defs.get(type);
    return d ? { queue: d.queue, fabricLock: d.fabricLock } : BUILTIN_ROUTING.get(type);
  }

  /** Every type this system can submit (registered or built in). */
  known(): string[] {
    return [...new Set([...this.defs.keys(), ...BUILTIN_ROUTING.keys()])].sort();
  }
}
