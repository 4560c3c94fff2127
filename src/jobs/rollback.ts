// Config-history rollback (issue 7): push a device's earlier committed config (an entry of
// GET /fabrics/{f}/devices/{d}/config/history) through the same NETCONF transaction as
// autoconfigure (push.ts: lock, load, diff, commit confirmed, verify, confirm or roll back). The
// commit is recorded as a new history entry. Verify checks the device's current plan (sessions,
// BFD, loopbacks): a rollback is meant to restore a working fabric, not an old topology.
import type { ConfigCommit } from '../store/types';
import type { Store } from '../store';
import { planFromStore } from './autoconfigure';
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

/**
 * The files of a history entry: the inverse of how push.ts records them. frr: one file is its
 * text; several are `# <name>\n<text>` joined by '\n'. junos: the service's groups (canonical XML)
 * and its apply-groups, made loadable again: each group replaces the device's copy, and
 * junosLoad deletes service groups the entry lacks.
 */
export function filesFromCommit(device: string, entry: Pick<ConfigCommit, 'text' | 'platform'>): Record<string, string> {
  const platform = entry.platform ?? 'frr';
  if (platform === 'junos') return { [`${device}.xml`]: junosXmlFromCommit(entry.text) };
  if (platform !== 'frr') throw new Error(`rollback: history entries of platform ${platform} cannot be pushed back (frr and junos only)`);
  const conf = `${device}.frr.conf`;
  const ifs = `${device}.interfaces`;
  const text = entry.text;
  if (!text.startsWith(`# ${conf}\n`)) return { [conf]: text };
  const sep = `\n# ${ifs}\n`;
  const i = text.indexOf(sep);
  if (i < 0) return { [conf]: text.slice(conf.length + 3) };
  return { [conf]: text.slice(conf.length + 3, i), [ifs]: text.slice(i + sep.length) };
}

function junosXmlFromCommit(text: string): string {
  const lines = text.split('\n');
  if (!lines.some((l) => l.startsWith('<apply-groups>'))) {
    throw new Error('rollback: this Junos history entry has no apply-groups (recorded by an older version): it cannot be pushed back as it was');
  }
  // canonXml puts each top-level <groups> at the start of a line, unindented
  const body = lines.filter((l) => l !== '').map((l) => (l === '<groups>' ? '<groups replace="replace">' : l)).join('\n');
  return `<configuration>\n${body}\n</configuration>\n`;
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
      if (!(await store.getDevice(ctx.fabric, device))) throw new Error(`rollback: device ${device} is not in fabric ${ctx.fabric}`);
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
