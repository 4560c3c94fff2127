// Job types plug in here. A fabric job is a BullMQ flow: a parent job for the fabric that plans
// (which devices, what each needs), a child job per device on the `device-ops` queue, and a
// finalize step once every child has finished (succeeded, failed or cancelled). Later issues
// (onboarding, autoconfigure push) register their own type or replace a step function:
//
//   registerJobType({
//     type: 'onboard', queue: 'discovery', fabricLock: true,
//     deviceSteps: [{ name: 'facts', weight: 1 }, { name: 'lldp', weight: 2 }],
//     plan: async (ctx) => ({ devices: [{ device: 'leaf1', data: {...} }], data: {...} }),
//     runDevice: async (ctx) => { await ctx.step('facts'); ...; await ctx.step('lldp'); return {...} },
//     finalize: async (ctx) => ({ found: Object.keys(ctx.devices).length }),
//   });
//
// Handlers get `ctx.services` (store, config, logger, redis): the same functions the CLI calls.
// Throw TransientError (or a system error such as ECONNREFUSED) to be retried with exponential
// backoff; any other error fails that device at once. Never put secrets in job data, results or
// log lines: they are stored and shown by the API.
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import type { DeviceOutcome } from './records';

export type QueueName = 'discovery' | 'autoconfigure' | 'device-ops';
export const QUEUE_NAMES: readonly QueueName[] = ['discovery', 'autoconfigure', 'device-ops'];
export const DEVICE_QUEUE: QueueName = 'device-ops';

/** What handlers may use. `store` is the service's Store (src/store). */
export interface JobServices {
  redis: Redis;
  config: ServiceConfig;
  logger: Logger;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  store: any;
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
export const TYPE_ROUTING: Record<string, { queue: QueueName; fabricLock: boolean }> = {
  autoconfigure: { queue: 'autoconfigure', fabricLock: true },
  onboard: { queue: 'discovery', fabricLock: true },
  rollback: { queue: 'autoconfigure', fabricLock: true },
  upgrade: { queue: 'autoconfigure', fabricLock: true },
  maintenance: { queue: 'autoconfigure', fabricLock: true },
};

const registry = new Map<string, JobTypeDef<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any

export function registerJobType<P>(def: JobTypeDef<P>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(def.type)) throw new Error(`job type "${def.type}": use [a-z0-9-]`);
  if (def.deviceSteps.length === 0) throw new Error(`job type "${def.type}": needs at least one device step`);
  registry.set(def.type, def as JobTypeDef<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  TYPE_ROUTING[def.type] = { queue: def.queue, fabricLock: def.fabricLock };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function getJobType(type: string): JobTypeDef<any> | undefined {
  return registry.get(type);
}

export function unregisterJobType(type: string): void {
  registry.delete(type);
}

export function registeredJobTypes(): string[] {
  return [...registry.keys()].sort();
}
