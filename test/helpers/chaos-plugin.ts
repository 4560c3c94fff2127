// Loaded by a real worker process (`dist/workers/main.js` with FABRIC_JOB_PLUGINS pointing at the
// compiled dist/test/helpers/chaos-plugin.js) in the chaos tests. It registers no job type: it
// points the NETCONF push at the simulator and puts named barriers on the autoconfigure flow.
// A test arms one barrier in Redis; the first process to reach it takes it (atomically), reports
// `{point, device, pid}` on `ch:reached`, and then either hangs there until the test SIGKILLs it
// (mode `hang`) or waits for `ch:release:<point>` (mode `hold`). Unarmed points cost one GET.
//
// Points (in flow order):
//   plan           the type's plan returned (allocations committed), nothing declared or enqueued
//   enqueued       device children added, the parent's phase not saved yet
//   step:<name>    a device step marked running (render, record, push)
//   tx:<s>:<state> a NETCONF transaction step starting (running) or ending (ok/failed/skipped)
//   verify:polled  mid-verify: the device's operational state read once (verify on: the twin)
//   device:done    the device handler returned, its outcome not recorded yet
//   finalize       every child finished, finalize about to run
//   finished       the job record is final, the fabric lock not released yet
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/store/redis-server';
import { JobTypes, type DeviceContext, type FinalizeContext, type PlanContext } from '../../src/jobs/registry';
import { JobRecords } from '../../src/jobs/records';
import { createPush } from '../../src/jobs/push';
import { autoconfigureJob } from '../../src/jobs/autoconfigure';
import { rollbackJob } from '../../src/jobs/rollback';

export const ARM = (point: string) => `ch:arm:${point}`;
export const RELEASE = (point: string) => `ch:release:${point}`;
export const REACHED = 'ch:reached';
/** every start of a device handler: {device, jobId, pid} (a device job run twice shows twice) */
export const RUNS = 'ch:runs';
/** hash managementIp -> "host:port": where the push connects instead (a test's TCP relay) */
export const ENDPOINTS = 'ch:endpoints';

export interface Arm { device?: string; mode: 'hang' | 'hold' }
export interface Reached { point: string; device?: string; jobId?: string; pid: number }

let redis: Redis | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function at(point: string, info: { device?: string; jobId?: string } = {}): Promise<void> {
  const r = redis!;
  const raw = await r.get(ARM(point));
  if (!raw) return;
  const arm = JSON.parse(raw) as Arm;
  if (arm.device && arm.device !== info.device) return;
  if ((await r.del(ARM(point))) !== 1) return; // another process took it first
  await r.rpush(REACHED, JSON.stringify({ point, ...info, pid: process.pid } satisfies Reached));
  if (arm.mode === 'hang') {
    await new Promise(() => { /* the test SIGKILLs this process here */ });
  }
  // bounded: a forgotten release lets the flow go on after 5 minutes
  for (let i = 0; i < 6000 && !(await r.del(RELEASE(point))); i++) await sleep(50); // consumed: one release per hold
}

export function registerJobTypes(types: JobTypes): void {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('chaos plugin: REDIS_URL is required');
  redis = connectRedis(url, { connectionName: 'chaos-plugin' });
  const port = Number(process.env.CHAOS_NETCONF_PORT ?? 830);
  const ep = redis;
  const { push } = createPush({
    resolveEndpoint: async ({ managementIp }) => {
      const relayed = await ep.hget(ENDPOINTS, managementIp);
      if (relayed) {
        const [host, p] = relayed.split(':');
        return { host, port: Number(p) };
      }
      return { host: managementIp, port };
    },
    // The simulator runs no routing daemon; the twin (CHAOS_VERIFY=1) does.
    verify: process.env.CHAOS_VERIFY === '1',
    verifyTimeoutMs: 60_000,
    verifyPollMs: 1000,
    confirmTimeoutSeconds: Number(process.env.CHAOS_CONFIRM_S ?? 30),
    rpcTimeoutMs: Number(process.env.CHAOS_RPC_MS ?? 10_000),
    connectTimeoutMs: 10_000,
    lockWaitMs: Number(process.env.CHAOS_LOCK_WAIT_MS ?? 30_000),
    lockPollMs: 500,
    onStep: (device, s) => at(`tx:${s.name}:${s.state}`, { device }),
  });

  // autoconfigure and rollback with the push pointed at the devices (through relays where a test set one)
  const def = autoconfigureJob({ push });
  types.register(def).register(rollbackJob({ push }));
  const plan = def.plan.bind(def);
  def.plan = async (ctx: PlanContext<Record<string, unknown>>) => {
    const r = await plan(ctx);
    await at('plan', { jobId: ctx.jobId });
    return r;
  };
  const runDevice = def.runDevice.bind(def);
  def.runDevice = async (ctx: DeviceContext<Record<string, unknown>>) => {
    const step = ctx.step;
    const info = { device: ctx.device, jobId: ctx.jobId };
    await redis!.rpush(RUNS, JSON.stringify({ ...info, pid: process.pid }));
    await at('step:render', info); // the engine marked the first step (render) running
    const r = await runDevice({
      ...ctx,
      step: async (name: string) => {
        await step(name);
        await at(`step:${name}`, info);
      },
    });
    await at('device:done', info);
    return r;
  };
  const finalize = def.finalize?.bind(def);
  def.finalize = async (ctx: FinalizeContext<Record<string, unknown>>) => {
    await at('finalize', { jobId: ctx.jobId });
    return finalize ? finalize(ctx) : undefined;
  };

  // Mid-verify: the device's state has been read once and judged, the next poll is coming.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const verifyMod = require('../../src/jobs/verify') as { readOperState: (c: unknown, platform: string) => Promise<unknown> };
  const readOperState = verifyMod.readOperState;
  verifyMod.readOperState = async (c, platform) => {
    const state = await readOperState(c, platform);
    await at('verify:polled', { device: (c as { deviceId?: string }).deviceId });
    return state;
  };

  // Engine points without a hook of their own: the log line written right after the children
  // are enqueued, and the record's final state (written before the lock is released).
  const log = JobRecords.prototype.log;
  JobRecords.prototype.log = async function (this: JobRecords, id: string, message: string, device?: string) {
    await log.call(this, id, message, device);
    if (!device && /^planned \d+ device jobs?$/.test(message)) await at('enqueued', { jobId: id });
  };
  const finish = JobRecords.prototype.finish;
  JobRecords.prototype.finish = async function (this: JobRecords, ...args: Parameters<JobRecords['finish']>) {
    const first = await finish.apply(this, args);
    if (first) await at('finished', { jobId: args[0] });
    return first;
  };
}
