// Config-history rollback (issue 7): push a device's earlier committed config (an entry of
// GET /fabrics/{f}/devices/{d}/config/history) through the same NETCONF transaction as
// autoconfigure (push.ts: lock, load, diff, commit confirmed, verify, confirm or roll back). The
// commit is recorded as a new history entry. Verify checks the device's current plan (sessions,
// BFD, loopbacks): a rollback is meant to restore a working fabric, not an old topology.
import type { ConfigCommit } from '../store/types';
import type { Store } from '../store';
import { findPlatform, platformNames } from '../platforms';
import { planFromStore } from './plan-from-store';
import type { PushContext, PushDeviceFn } from './push-context';
import type { DeviceContext, JobTypeDef } from './registry';

export interface RollbackParams {
  device: string;
  /** index of the entry as GET .../config/history lists it (0: newest) */
  version: number;
  /** the entry's `at` and `jobId`, pinned when the job was submitted (a commit landing meanwhile shifts indexes) */
  at?: string;
  commitJob?: string;
  requestedBy?: string;
}

/** History entries kept per device (store.addConfigCommit trims to 100). */
const HISTORY_MAX = 100;

/** The history entry `version` of a device, or null (pinned by its `at` + `jobId` when given). */
export async function findHistoryEntry(store: Store, fabric: string, device: string, version: number, pin?: { at?: string; jobId?: string }): Promise<ConfigCommit | null> {
  if (!Number.isInteger(version) || version < 0) return null;
  const items = await store.listConfigCommits(fabric, device, { limit: HISTORY_MAX });
  if (pin?.at !== undefined) return items.find((c) => c.at === pin.at && (pin.jobId === undefined || c.jobId === pin.jobId)) ?? null;
  return items[version] ?? null;
}

/** `a`, `a and b`, `a, b and c` */
function either(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * The files of a history entry: the inverse of how push.ts records them (commitText of the
 * platform's comparable files), by the entry's platform (src/platforms/<name>/config.ts).
 * Entries written before platforms were recorded are frr's.
 */
export function filesFromCommit(device: string, entry: Pick<ConfigCommit, 'text' | 'platform'>): Record<string, string> {
  const platform = entry.platform ?? 'frr';
  const m = findPlatform(platform);
  if (!m) throw new Error(`rollback: history entries of platform ${platform} cannot be pushed back (${either(platformNames())} only)`);
  return m.filesFromCommit(device, entry.text);
}

interface DeviceData { at: string; jobId: string }

/** The rollback job type: pushes a config history entry back with `push` (src/jobs/push.ts). */
export function rollbackJob(opts: { push: PushDeviceFn }): JobTypeDef<RollbackParams> {
  return {
    type: 'rollback',
    // The parent (plan, wait, finalize) runs on the fabric-job queue; the device step on device-ops.
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'load', weight: 1 }, { name: 'push', weight: 6 }],
    // A failed push is not retried: commit confirmed already rolled the device back.
    attempts: 1,
    plan: async (ctx) => {
      const store = ctx.services.store;
      const { device, version, at, commitJob } = ctx.params;
      const dev = await store.getDevice(ctx.fabric, device);
      if (!dev) throw new Error(`rollback: device ${device} is not in fabric ${ctx.fabric}`);
      // The dead box of an RMA is not pushed; its replacement gets its config from the RMA job.
      if (dev.managedState === 'rma') throw new Error(`rollback: device ${device} is in RMA: nothing is pushed to it (skipped)`);
      const entry = await findHistoryEntry(store, ctx.fabric, device, version, { at, jobId: commitJob });
      if (!entry) throw new Error(`rollback: device ${device} has no config history version ${version}${at ? ` (committed ${at})` : ''}`);
      await ctx.log(`rollback of ${device} to version ${version}: committed ${entry.at} by job ${entry.jobId}`);
      return { devices: [{ device, data: { at: entry.at, jobId: entry.jobId } satisfies DeviceData }] };
    },
    runDevice: async (ctx: DeviceContext<RollbackParams>) => {
      const store = ctx.services.store;
      const { at, jobId } = ctx.data as DeviceData;
      const entry = await findHistoryEntry(store, ctx.fabric, ctx.device, ctx.params.version, { at, jobId });
      if (!entry) throw new Error(`rollback: the history entry committed ${at} is gone`);
      const files = filesFromCommit(ctx.device, entry);
      const { plans } = await planFromStore(store, ctx.fabric, false);
      const plan = plans.find((p) => p.name === ctx.device);
      if (!plan) throw new Error(`rollback: device ${ctx.device} has no plan (profile and physical role needed for verify)`);
      await ctx.step('push');
      const pushCtx: PushContext = {
        jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, plan, platform: entry.platform ?? plan.platform,
        files, store, log: ctx.log, checkCancel: ctx.checkCancel,
      };
      const res = (await opts.push(pushCtx)) ?? {};
      return { version: ctx.params.version, from: { at, jobId }, ...res };
    },
    finalize: async (ctx) => ({ device: ctx.params.device, version: ctx.params.version }),
  };
}
