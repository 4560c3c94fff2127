// Autoconfigure: allocate atomically -> compile plans -> a child per device
// renders its config and records it as the device's intended config. `dryRun` changes nothing.
// The push is a parameter of the job type (autoconfigureJob({push})): the service passes the
// NETCONF push of src/jobs/push.ts; without one the push step is skipped and the log says so.
import type { DevicePlan } from '../domain/types';
import { platformModule, renderDevice } from '../platforms';
import type { Store } from '../store';
import { commitText } from './push';
import { drainFiles, isDrained } from './maintenance/drain';
import { planFromStore } from './plan-from-store';
import type { PushContext, PushDeviceFn } from './push-context';
import type { DeviceContext, JobTypeDef } from './registry';
import { CancelledError, ShutdownError } from './errors';
import { SHARED, sharedMetrics } from '../metrics/shared';
import type { Redis } from 'ioredis';
import { markPushFailed } from './push';

export type { PushContext, PushDeviceFn } from './push-context';

export interface AutoconfigureParams {
  dryRun?: boolean;
  devices?: string[];
  /**
   * Only the devices whose rendered config differs from their last committed one (or that never
   * had one): after adding a device to a running fabric, the new device and the peers that gain
   * its sessions and links, nothing else (issue 15).
   */
  onlyChanged?: boolean;
  /** adopted (brownfield) fabric: allow pushes that change a running loopback, address or AS */
  renumber?: boolean;
}

interface PlanData { version: number; dryRun: boolean; allocated: number; unchanged?: string[] }
interface DeviceData { plan: DevicePlan; version: number }

/** Runs a push and counts it (fabric_pushes_total, fabric_push_duration_seconds, fabric_verify_failures_total). */
async function timedPush(push: PushDeviceFn, ctx: PushContext, redis: Redis): Promise<Record<string, unknown> | void> {
  const t0 = performance.now();
  const m = sharedMetrics(redis);
  const count = (outcome: string) => {
    m.inc(SHARED.pushes, { platform: ctx.platform, outcome });
    m.observe(SHARED.pushDuration, { platform: ctx.platform, outcome }, (performance.now() - t0) / 1000);
  };
  try {
    const res = await push(ctx);
    count(ctx.dryRun ? 'dry_run' : res && res.committed === false ? 'unchanged' : 'committed');
    return res;
  } catch (e) {
    if (e instanceof ShutdownError) throw e; // handed back: the push runs again, and counts then
    if (e instanceof CancelledError) { count('cancelled'); throw e; }
    count('failed');
    if ((e as { step?: string }).step === 'verify') m.inc(SHARED.verifyFailures, { platform: ctx.platform });
    throw e;
  }
}

/**
 * Plans whose rendered config (with the drain a device in maintenance keeps) equals the text of
 * its newest config-history entry are unchanged; every other plan (no history: a new device)
 * is changed. The history entry is what the push recorded as committed (commitText of the
 * platform's comparable files), so this compares like with like. A device the latest drift
 * check found drifted is changed too: its running config is not what it was last given.
 */
export async function splitByLastCommit(store: Store, fabric: string, plans: DevicePlan[]): Promise<{ changed: DevicePlan[]; unchanged: string[]; drifted: string[] }> {
  const changed: DevicePlan[] = [];
  const unchanged: string[] = [];
  const drift = await store.listDrifted(fabric);
  const drifted: string[] = [];
  for (const plan of plans) {
    if (drift.has(plan.name)) { drifted.push(plan.name); changed.push(plan); continue; }
    const last = (await store.listConfigCommits(fabric, plan.name, { limit: 1 }))[0];
    const drained = isDrained((await store.getDevice(fabric, plan.name))?.managedState);
    const files = renderDevice(plan).files;
    const text = commitText(platformModule(plan.platform).comparableIntended(plan.name, drained ? drainFiles(plan.platform, files) : files));
    if (last && last.text === text) unchanged.push(plan.name);
    else changed.push(plan);
  }
  return { changed, unchanged, drifted };
}

export interface AutoconfigureOptions {
  /** The device push (src/jobs/push.ts). Undefined: intended configs are recorded, nothing is sent (FABRIC_PUSH=off). */
  push?: PushDeviceFn;
}

/** The autoconfigure job type, with the push it uses. */
export function autoconfigureJob(opts: AutoconfigureOptions): JobTypeDef<AutoconfigureParams> {
  const pushDevice = opts.push;
  return {
    type: 'autoconfigure',
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'render', weight: 1 }, { name: 'record', weight: 1 }, { name: 'push', weight: 6 }],
    attempts: 3,
    plan: async (ctx) => {
      const store = ctx.services.store;
      const dryRun = ctx.params.dryRun === true;
      const { plans, version, allocations } = await planFromStore(store, ctx.fabric, !dryRun);
      const only = ctx.params.devices ? new Set(ctx.params.devices) : undefined;
      const wanted = only ? plans.filter((p) => only.has(p.name)) : plans;
      // A device in RMA is a dead box awaiting its replacement (the RMA job pushes that one):
      // not pushed, and its peers do not wait for its sessions (they verify the rest).
      const inRma = new Set((await store.listDevices(ctx.fabric)).filter((d) => d.managedState === 'rma').map((d) => d.name));
      let chosen = wanted.filter((p) => !inRma.has(p.name));
      for (const p of wanted.filter((x) => inRma.has(x.name))) await ctx.log(`skipped ${p.name}: in RMA (the replacement is pushed by its RMA job)`);
      if (inRma.size && !dryRun) for (const n of inRma) await markPushFailed(store, ctx.jobId, n);
      await ctx.log(`${dryRun ? 'dry run: ' : ''}${plans.length} device plans compiled; ${Object.keys(allocations.links).length} links addressed`);
      const data: PlanData = { version, dryRun, allocated: Object.keys(allocations.asns).length };
      if (ctx.params.onlyChanged) {
        const { changed, unchanged, drifted } = await splitByLastCommit(store, ctx.fabric, chosen);
        chosen = changed;
        data.unchanged = unchanged;
        const why = drifted.length ? ` (${drifted.join(', ')}: drifted at the last drift check)` : '';
        await ctx.log(`only changed: ${changed.length ? changed.map((p) => p.name).join(', ') : 'none'} differ from their last committed config${why}; ${unchanged.length} unchanged left alone`);
      }
      return { devices: chosen.map((plan) => ({ device: plan.name, data: { plan, version } satisfies DeviceData })), data };
    },
    runDevice: async (ctx: DeviceContext<AutoconfigureParams>) => {
      const { plan, version } = ctx.data as DeviceData;
      const store = ctx.services.store;
      const rendered = renderDevice(plan);
      const files = Object.keys(rendered.files).sort();
      const bytes = files.reduce((n, f) => n + Buffer.byteLength(rendered.files[f]), 0);
      // A device in maintenance keeps its drain (graceful shutdown) through any push.
      const drained = isDrained((await store.getDevice(ctx.fabric, plan.name))?.managedState);
      const onDevice = (f: Record<string, string>) => (drained ? drainFiles(plan.platform, f) : f);
      // manageUnderlay false: the rendered files are the service's part, woven into what runs;
      // the part recorded last time says what the service may take out again
      const keep = plan.settings.brownfield?.manageUnderlay === false;
      const ownedBefore = keep ? (await store.getIntendedConfig(ctx.fabric, plan.name))?.files : undefined;
      const pushCtx = (dryRun: boolean) => ({
        jobId: ctx.jobId, fabric: ctx.fabric, device: plan.name, plan, platform: plan.platform, dryRun,
        files: onDevice(rendered.files), store, log: ctx.log, checkCancel: ctx.checkCancel,
        pfeRestart: drained ? 'allow' as const : 'refuse' as const,
        // adopted fabric: a push that would renumber what runs is refused unless asked for
        ...(plan.settings.brownfield && !ctx.params.renumber ? { guardRenumber: true } : {}),
        ...(keep ? { keepUnderlay: { ...(ownedBefore ? { ownedBefore: onDevice(ownedBefore) } : {}) } } : {}),
      });
      if (ctx.params.dryRun) {
        await ctx.log(`rendered ${files.join(', ')} (${bytes} bytes); dry run: nothing recorded or pushed`);
        if (!pushDevice) return { platform: plan.platform, files, bytes, dryRun: true };
        // Compared with the device's running config (lock, load, diff, discard: nothing changes).
        await ctx.step('push');
        const res = await timedPush(pushDevice, pushCtx(true), ctx.services.redis);
        return { platform: plan.platform, files, bytes, dryRun: true, ...(res ?? {}) };
      }
      await ctx.step('record');
      // Recorded only against the inventory version it was planned from (no stale config). A
      // write since planning (intent may change while a job runs) moves the version: this device
      // is then re-planned from the store as it is now, so the job pushes the newest intent.
      let cur = { plan, files: rendered.files, version };
      for (let i = 0; !(await store.setIntendedConfig(ctx.fabric, cur.plan.name, { platform: cur.plan.platform, files: cur.files }, cur.version)); i++) {
        if (i >= 5) throw new Error('the fabric kept changing while this device was planned (5 re-plans); run autoconfigure again');
        const fresh = await planFromStore(store, ctx.fabric, true);
        const p = fresh.plans.find((x) => x.name === plan.name);
        if (!p) throw new Error(`device ${plan.name} is no longer in the fabric's plan (deleted or without a role since this job planned it)`);
        cur = { plan: p, files: renderDevice(p).files, version: fresh.version };
        if (i === 0) await ctx.log('the fabric changed since planning: re-planned this device from the store');
      }
      const pushCtxNow = { ...pushCtx(false), plan: cur.plan, platform: cur.plan.platform, files: onDevice(cur.files) };
      if (drained) await ctx.log('in maintenance: pushed with its drain (graceful shutdown) kept');
      if (!pushDevice) {
        await ctx.log('push not available yet: intended config recorded, nothing sent to the device');
        return { platform: plan.platform, files, bytes, pushed: false };
      }
      await ctx.step('push');
      const res = await timedPush(pushDevice, pushCtxNow, ctx.services.redis);
      return { platform: plan.platform, files, bytes, pushed: true, ...(res ?? {}) };
    },
    finalize: async (ctx) => {
      const data = ctx.planData as PlanData | undefined;
      return { dryRun: data?.dryRun ?? false, pushAvailable: !!pushDevice, ...(data?.unchanged ? { changed: Object.keys(ctx.devices).sort(), unchanged: data.unchanged } : {}) };
    },
  };
}
