// The rolling-upgrade job (issue 15): a job of the engine (fabric lock, a child per device,
// progress, cancel). The engine starts every child at once, so batches are kept by a gate in
// Redis: a child waits until its batch is the current one; the last child of a batch to finish
// opens the next batch, or stops the plan when one of the batch failed (or a cancel came). The
// children are queued in plan order, so the ones waiting at the gate are always later than the
// ones running (no retries for this type: a retried child would queue behind its waiters).
//
// Per device: precheck (version, sessions, routes recorded) -> drain (graceful shutdown,
// state upgrading) -> install (platform RPC, install.ts) -> wait for the device back with the
// image's version (bounded) -> re-push the drained config when running differs -> postcheck
// (every session Established before is again) -> undrain (state managed). After the drain a
// failure leaves the device drained in `maintenance` with the reason in the job.
import type { Store } from '../../store';
import { imageStoreAt, type ImageRecord } from '../../store/images';
import { defaultPush, markPushFailed, pushFailedDevices, type DevicePush } from '../push';
import { CancelledError, JobFailedError, errorMessage } from '../errors';
import type { DeviceContext, JobTypeDef } from '../registry';
import { checkDevice, describeVerify } from '../verify';
import { drainFiles } from '../maintenance/drain';
import { deviceIntent, enterMaintenance, established, leaveMaintenance, readDevice, repushIfDiffers, setState, type DeviceOpContext } from '../maintenance/ops';
import { installerFor } from './install';
import { planFromStoreFor } from './inputs';
import type { UpgradeBatch } from './plan';
import { normalizeVersion, sameVersion } from './version';

export interface UpgradeParams { image: string; devices?: string[]; maxParallel?: number; imageUrl: string; requestedBy?: string }

export interface UpgradeSettings {
  /** how long a device may take to come back with the new version */
  rebootTimeoutMs: number;
  pollMs: number;
  /**
   * how long the postcheck waits for the sessions of the precheck: an iBGP session to a loopback
   * can wait out a whole BGP connect-retry timer (FRR: 120 s) after the reboot
   */
  postcheckTimeoutMs: number;
  /** twin: reboot-seconds of install-software (undefined: the agent's default) */
  rebootSeconds?: number;
}
const DEFAULTS: UpgradeSettings = { rebootTimeoutMs: 15 * 60_000, pollMs: 1000, postcheckTimeoutMs: 5 * 60_000 };
let settings: UpgradeSettings = { ...DEFAULTS };
export function configureUpgrade(p?: Partial<UpgradeSettings>): void { settings = { ...DEFAULTS, ...(p ?? {}) }; }

interface DeviceData { batch: number; size: number; batches: number; image: ImageRecord }
interface PlanData { batches: UpgradeBatch[]; skipped: { device: string; reason: string }[]; image: string }

const gateKey = (jobId: string) => `jobs:upgrade:${jobId}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// KEYS gate. ARGV batch, size, device, failed ('1'|'0'), reason. The last device of the batch opens
// the next one (cur = batch + 1) or stops the plan. Idempotent per device.
const FINISH_LUA = `
local added = redis.call('SADD', KEYS[1] .. ':done:' .. ARGV[1], ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'failed:' .. ARGV[3], ARGV[5]) end
if redis.call('SCARD', KEYS[1] .. ':done:' .. ARGV[1]) < tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], 'stopped') then return 2 end
local failed = false
for _, d in ipairs(redis.call('SMEMBERS', KEYS[1] .. ':done:' .. ARGV[1])) do
  if redis.call('HEXISTS', KEYS[1], 'failed:' .. d) == 1 then failed = true end
end
if failed then redis.call('HSET', KEYS[1], 'stopped', 'batch ' .. (tonumber(ARGV[1]) + 1) .. ' had a failure') return 2 end
redis.call('HSET', KEYS[1], 'cur', tonumber(ARGV[1]) + 1)
return 1
`;

async function waitTurn(ctx: DeviceContext<UpgradeParams>, d: DeviceData): Promise<void> {
  const redis = ctx.services.redis;
  // Bounded: each batch ahead gets a device's worst case (reboot, pushes, postcheck).
  const end = Date.now() + (d.batch + 1) * (settings.rebootTimeoutMs + settings.postcheckTimeoutMs + 10 * 60_000);
  for (let logged = false; Date.now() < end;) {
    const [cur, stopped] = await redis.hmget(gateKey(ctx.jobId), 'cur', 'stopped');
    if (stopped) {
      await ctx.log(`not started: the plan stopped (${stopped})`);
      throw new CancelledError(`not started: ${stopped}`);
    }
    if (Number(cur ?? 0) === d.batch) return;
    if (!logged) { await ctx.log(`waits for batch ${d.batch + 1} of ${d.batches}`); logged = true; }
    await ctx.checkCancel();
    await sleep(200);
  }
  throw new Error(`batch ${d.batch + 1} never got its turn (the earlier batches took too long)`);
}

async function finishTurn(ctx: DeviceContext<UpgradeParams>, d: DeviceData, failure?: string): Promise<void> {
  const r = await ctx.services.redis.eval(FINISH_LUA, 1, gateKey(ctx.jobId), String(d.batch), String(d.size), ctx.device, failure ? '1' : '0', failure ?? '') as number;
  if (r === 1 && d.batch + 1 < d.batches) await ctx.log(`batch ${d.batch + 1} of ${d.batches} done; batch ${d.batch + 2} starts`);
  if (r === 2) await ctx.log(`batch ${d.batch + 1} of ${d.batches} had a failure: the plan stops here`);
  await ctx.services.redis.expire(gateKey(ctx.jobId), 7 * 86_400);
}

/** Polls until the device answers with the expected version (bounded by rebootTimeoutMs). */
async function waitForVersion(op: DeviceOpContext, version: string): Promise<string> {
  const t0 = Date.now();
  let last = 'no answer yet';
  let wentDown = false;
  while (Date.now() - t0 < settings.rebootTimeoutMs) {
    await sleep(settings.pollMs);
    try {
      const { osVersion } = await readDevice(op);
      if (sameVersion(osVersion, version)) {
        await op.log(`back after ${((Date.now() - t0) / 1000).toFixed(1)} s reporting ${osVersion}${wentDown ? '' : ' (never seen down)'}`);
        return osVersion;
      }
      last = `reports "${osVersion}" (normalised "${normalizeVersion(osVersion)}", expected "${normalizeVersion(version)}")`;
    } catch (e) {
      wentDown = true;
      last = `unreachable: ${errorMessage(e)}`;
    }
  }
  throw new Error(`not back on ${version} after ${Math.round(settings.rebootTimeoutMs / 1000)} s: ${last}`);
}

/** The cancel flag is honoured between devices, not inside one: a device once drained is finished. */
async function stepThrough(ctx: DeviceContext<UpgradeParams>, name: string): Promise<void> {
  try { await ctx.step(name); } catch (e) { if (!(e instanceof CancelledError)) throw e; }
}

async function upgradeDevice(ctx: DeviceContext<UpgradeParams>, d: DeviceData, dp: DevicePush): Promise<Record<string, unknown>> {
  const store = ctx.services.store as Store;
  const op: DeviceOpContext = { jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, store, dp, log: ctx.log, checkCancel: async () => undefined };
  await ctx.step('precheck');
  const intent = await deviceIntent(store, ctx.fabric, ctx.device);
  const pre = await readDevice(op, { state: true });
  if (sameVersion(pre.osVersion, d.image.version)) {
    await setState(op, 'active', { osVersion: pre.osVersion });
    await ctx.log(`already on ${pre.osVersion}: nothing to do`);
    return { skipped: `already on ${pre.osVersion}` };
  }
  // Devices of this job that are rebooting now (same batch, maxParallel > 1) are away, not broken:
  // their loopbacks are notes here, as in the pushes' verify (the per-job set below).
  const away = (await pushFailedDevices(store, ctx.jobId)).filter((n) => n !== ctx.device);
  const health = checkDevice({ plan: intent.plan, state: pre.state!, loopbacks: intent.loopbacks, failedPeers: away });
  if (!health.ok) throw new Error(`the device is not healthy before the upgrade (${describeVerify(health)}); nothing changed`);
  const sessions = established(pre.state!);
  await ctx.log(`precheck: ${pre.osVersion}, ${sessions.length} sessions up, ${pre.state!.routes.length} routes`);
  await ctx.step('drain');
  let drained = false;
  try {
    await enterMaintenance(op, intent, 'upgrading');
    drained = true;
    await stepThrough(ctx, 'install');
    // From here until its own next verified commit (the re-push or the undrain) the device may be
    // down: the pushes of the others in its batch must not wait for its loopback. The push's
    // per-job "failed" set is that list (recordCommit takes the device out again).
    await markPushFailed(store, ctx.jobId, ctx.device);
    const { client } = await dp.connect(store, ctx.fabric, ctx.device);
    let r;
    try {
      r = await installerFor(intent.platform)(client, { version: d.image.version, url: ctx.params.imageUrl, rebootSeconds: settings.rebootSeconds });
    } finally {
      // The device reboots right after its reply: the session ends by itself.
      await client.close().catch(() => undefined);
    }
    await ctx.log(`${r.rpc} accepted (${d.image.name}, ${d.image.sha256.slice(0, 12)}...)${r.previousVersion ? `; was ${r.previousVersion}` : ''}`);
    await stepThrough(ctx, 'reboot');
    const reported = await waitForVersion(op, d.image.version);
    await store.updateDevice(ctx.fabric, ctx.device, { osVersion: reported }, { actor: `job:${ctx.jobId}` });
    await stepThrough(ctx, 'postcheck');
    if (await repushIfDiffers(op, intent, drainFiles(intent.platform, intent.files))) await ctx.log('running config differed after the reboot: drained config pushed again');
    const missing = await waitSessions(op, sessions);
    if (missing.length) throw new Error(`${missing.length} sessions up before are not after ${Math.round(settings.postcheckTimeoutMs / 1000)} s: ${missing.slice(0, 8).join(', ')}`);
    await stepThrough(ctx, 'undrain');
    await leaveMaintenance(op, intent);
    return { from: pre.osVersion, to: reported, sessions: sessions.length };
  } catch (e) {
    if (drained || (await store.getDevice(ctx.fabric, ctx.device))?.managedState === 'upgrading') {
      // Left drained, so its peers keep preferring the other paths; the operator decides.
      await setState(op, 'maintenance').catch(() => undefined);
      await ctx.log(`left in maintenance (drained): ${errorMessage(e)}`);
    }
    throw e;
  }
}

async function waitSessions(op: DeviceOpContext, before: string[]): Promise<string[]> {
  const end = Date.now() + settings.postcheckTimeoutMs;
  let missing = before;
  while (Date.now() < end) {
    try {
      const { state } = await readDevice(op, { state: true });
      const now = new Set(established(state!));
      missing = before.filter((s) => !now.has(s));
      if (missing.length === 0) return [];
    } catch { /* still starting */ }
    await sleep(settings.pollMs);
  }
  return missing;
}

/** `device`: how devices are reached and pushed (default: the service's). */
export function upgradeJob(o: { device?: DevicePush } = {}): JobTypeDef<UpgradeParams> {
  const dp = o.device ?? defaultPush;
  return {
    type: 'upgrade',
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'wait', weight: 1 }, { name: 'precheck', weight: 1 }, { name: 'drain', weight: 2 }, { name: 'install', weight: 1 },
      { name: 'reboot', weight: 4 }, { name: 'postcheck', weight: 2 }, { name: 'undrain', weight: 2 }],
    attempts: 1,
    plan: async (ctx) => {
      const store = ctx.services.store as Store;
      const images = imageStoreAt(store, ctx.services.config.dataDir);
      const image = await images.get(ctx.params.image);
      if (!image) throw new Error(`image "${ctx.params.image}" not found`);
      if (!(await images.use(image.name, ctx.jobId, ctx.fabric))) throw new Error(`image "${ctx.params.image}" was deleted`);
      const plan = await planFromStoreFor(store, ctx.fabric, image, { devices: ctx.params.devices, maxParallel: ctx.params.maxParallel });
      // HSETNX: a re-plan (the parent's worker died while planning) must not rewind the gate.
      await ctx.services.redis.multi().hsetnx(gateKey(ctx.jobId), 'cur', '0').expire(gateKey(ctx.jobId), 7 * 86_400).exec();
      for (const [i, b] of plan.batches.entries()) await ctx.log(`batch ${i + 1} of ${plan.batches.length}: ${b.devices.join(', ')} (${b.reason})`);
      for (const s of plan.skipped) await ctx.log(`skipped ${s.device}: ${s.reason}`);
      const data: PlanData = { batches: plan.batches, skipped: plan.skipped, image: image.name };
      return {
        devices: plan.batches.flatMap((b, i) => b.devices.map((device) => ({ device, data: { batch: i, size: b.devices.length, batches: plan.batches.length, image } satisfies DeviceData }))),
        data,
      };
    },
    runDevice: async (ctx) => {
      const d = ctx.data as DeviceData;
      await waitTurn(ctx, d);
      try {
        const r = await upgradeDevice(ctx, d, dp);
        await finishTurn(ctx, d);
        return r;
      } catch (e) {
        // A cancel before anything changed is not a failure: the plan stops at this batch anyway.
        await finishTurn(ctx, d, e instanceof CancelledError ? 'cancelled' : errorMessage(e));
        throw e;
      }
    },
    finalize: async (ctx) => {
      const data = ctx.planData as PlanData | undefined;
      const store = ctx.services.store as Store;
      if (data) await imageStoreAt(store, ctx.services.config.dataDir).release(data.image, ctx.jobId);
      const stopped = await ctx.services.redis.hget(gateKey(ctx.jobId), 'stopped');
      const by = (st: string) => Object.entries(ctx.devices).filter(([, o]) => o.state === st).map(([n]) => n).sort();
      const failed = Object.entries(ctx.devices).filter(([, o]) => o.state === 'failed').map(([device, o]) => ({ device, error: o.error ?? '' }));
      const result = {
        batches: data?.batches ?? [], skipped: data?.skipped ?? [],
        upgraded: by('succeeded'), failed, notStarted: by('cancelled'),
        ...(stopped ? { stoppedAfter: stopped } : {}),
      };
      if (failed.length && !ctx.cancelled) {
        const inMaint: string[] = [];
        for (const f of failed) if ((await store.getDevice(ctx.fabric, f.device))?.managedState === 'maintenance') inMaint.push(f.device);
        throw new JobFailedError(
          `upgrade stopped: ${failed.map((f) => `${f.device} failed (${f.error})`).join('; ')}; upgraded: ${result.upgraded.join(', ') || 'none'}; `
          + `not upgraded: ${result.notStarted.join(', ') || 'none'}${inMaint.length ? `; left in maintenance: ${inMaint.join(', ')}` : ''}`, result);
      }
      return result;
    },
  };
}
