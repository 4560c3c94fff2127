// Per-device push (issue 7): rendered files -> one NETCONF transaction (src/netconf/transaction.ts):
// lock -> load -> validate -> diff -> commit confirmed -> verify (poll the device's own state
// against its plan, bounded) -> confirm; anything failing rolls back (discard before the commit,
// cancel-commit / Junos rollback after it, else the device's confirm timer).
//
// Peers are pushed concurrently (one device job each), so a device's sessions come up only once
// its neighbours are configured too: verify polls until they are, and a neighbour whose own push
// failed (recorded in a per-job Redis set) is a note, not a failure.
import { overlayEcmpRefusal, renumberings } from './renumber-guard';
import { createTwoFilesPatch } from 'diff';
import { AllowList } from '../discovery/allow';
import { NetconfClient } from '../netconf/client';
import { NetconfRpcError } from '../netconf/errors';
import { TransactionError, pushConfig, type TransactionStep } from '../netconf/transaction';
import { platformModule, platformOfSession } from '../platforms';
import type { Store } from '../store';
import type { PushContext, PushDeviceFn } from './push-context';
import { checkDevice, describeVerify, readOperState, type VerifyPhase, type VerifyResult } from './verify';

export interface PushSettings {
  /** where to reach a device's NETCONF server (tests map management addresses to relays) */
  resolveEndpoint: (d: { fabric: string; device: string; managementIp: string }) => { host: string; port: number } | Promise<{ host: string; port: number }>;
  /** device-side confirm timer, seconds (Junos: rounded up to minutes) */
  confirmTimeoutSeconds: number;
  /** how long verify waits for sessions/routes to come up */
  verifyTimeoutMs: number;
  verifyPollMs: number;
  connectTimeoutMs: number;
  rpcTimeoutMs: number;
  verifyPhase: VerifyPhase;
  /** false: no verify step (the scale simulator has no routing to check) */
  verify: boolean;
  /** how long a push waits for a candidate another session holds locked, and how often it asks */
  lockWaitMs: number;
  lockPollMs: number;
  /** observes every transaction step, awaited (tests: barriers mid-flight) */
  onStep?: (device: string, step: TransactionStep) => unknown;
}

const DEFAULTS: PushSettings = {
  resolveEndpoint: ({ managementIp }) => ({ host: managementIp, port: 830 }),
  confirmTimeoutSeconds: 120,
  verifyTimeoutMs: 60_000,
  verifyPollMs: 1_000,
  connectTimeoutMs: 15_000,
  rpcTimeoutMs: 60_000,
  verifyPhase: 'all',
  verify: true,
  lockWaitMs: 120_000,
  lockPollMs: 1_000,
};
/** A push with its settings: the job types take `push`, drift takes `connect`. */
export interface DevicePush {
  readonly settings: Readonly<PushSettings>;
  push: PushDeviceFn;
  connect(store: Store, fabric: string, device: string): Promise<{ client: NetconfClient; platform: string }>;
}

/** A push with these settings (the rest default); tests point it at relays and simulators. */
export function createPush(p: Partial<PushSettings> = {}): DevicePush {
  const settings: PushSettings = { ...DEFAULTS, ...p };
  return {
    settings,
    push: (ctx) => pushWith(settings, ctx),
    connect: (store, fabric, device) => connectWith(settings, store, fabric, device),
  };
}

export { NS_FRR } from '../platforms/frr';
export { junosLoad } from '../platforms/junos';

/** The running config as files, named like the rendered ones (the platform's canonical form: frr.conf + interfaces, Junos' __fabric_ groups). */
export function readRunning(client: NetconfClient, device: string, platform: string): Promise<Record<string, string>> {
  return platformModule(platform).readRunning(client, device);
}

/** Unified diff running -> intended over the union of file names ('' when equal). */
export function diffFiles(running: Record<string, string>, intended: Record<string, string>): string {
  const names = [...new Set([...Object.keys(running), ...Object.keys(intended)])].sort();
  let out = '';
  for (const n of names) {
    const a = running[n] ?? '';
    const b = intended[n] ?? '';
    if (a === b) continue;
    out += createTwoFilesPatch(`running/${n}`, `intended/${n}`, a, b, '', '', { context: 3 });
  }
  return out;
}

/** The text a config-history entry stores for comparable files (one file: as is; more: each under `# name`). */
export function commitText(files: Record<string, string>): string {
  const names = Object.keys(files);
  return Object.entries(files).map(([n, t]) => (names.length > 1 ? `# ${n}\n${t}` : t)).join('\n');
}

/** Intended files as they compare against readRunning (junos: the rendered groups only). */
export function comparableIntended(device: string, platform: string, files: Record<string, string>): Record<string, string> {
  return platformModule(platform).comparableIntended(device, files);
}

const failedKey = (jobId: string) => `fz:push:${jobId}:failed`;
const verifiedKey = (jobId: string) => `fz:push:${jobId}:verified`;

/** Marks a device's push as failed for this job (its neighbours stop expecting it). */
export async function markPushFailed(store: Store, jobId: string, device: string): Promise<void> {
  await store.redis.multi().sadd(failedKey(jobId), device).expire(failedKey(jobId), 86_400).exec();
}

export async function pushFailedDevices(store: Store, jobId: string): Promise<string[]> {
  return store.redis.smembers(failedKey(jobId));
}

async function connectWith(settings: PushSettings, store: Store, fabric: string, device: string): Promise<{ client: NetconfClient; platform: string }> {
  const dev = await store.getDevice(fabric, device);
  if (!dev) throw new Error(`device ${device} is not in fabric ${fabric}`);
  if (!dev.managementIp) throw new Error('no management address (onboard the device first)');
  // Credentials go only inside the fabric's management namespace (and DISCOVERY_ALLOW).
  const fab = await store.getFabric(fabric);
  AllowList.forFabric((fab?.namespaces.management ?? []).map((m) => m.cidr)).check(dev.managementIp, `device ${device}: management address`);
  const ep = await settings.resolveEndpoint({ fabric, device, managementIp: dev.managementIp });
  const secrets = await store.getFabricSecrets(fabric);
  const client = await NetconfClient.connect({
    host: ep.host, port: ep.port, deviceId: device,
    username: secrets.credentials.username, password: secrets.credentials.password,
    hostKeyStore: store.hostKeyStore(fabric, { actor: 'push' }),
    connectTimeoutMs: settings.connectTimeoutMs, rpcTimeoutMs: settings.rpcTimeoutMs,
  });
  return { client, platform: platformOfSession(client).name };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the device's state until the plan's checks pass or the bounded wait ends. At the end, a
 * device that has sessions up and only misses peers still being verified themselves waits a
 * bounded grace: a peer whose own push fails meanwhile becomes a note, not this device's failure.
 * A device with nothing up gets no grace (it is the broken one), which breaks the tie.
 */
async function verifyUntil(settings: PushSettings, ctx: PushContext, client: NetconfClient): Promise<VerifyResult> {
  const end = Date.now() + settings.verifyTimeoutMs;
  const graceEnd = end + Math.min(30_000, Math.ceil(settings.verifyTimeoutMs / 2));
  const loopbacks = ctx.loopbacks ?? (await ctx.store.getAllocations(ctx.fabric)).loopbacks;
  let last: VerifyResult | undefined;
  // Underlay first (sessions per link, loopbacks), then the whole plan (EVPN to the RRs rides
  // on the underlay): the log says when each phase held.
  let phase: VerifyPhase = settings.verifyPhase === 'all' && ctx.plan.overlay ? 'underlay' : settings.verifyPhase;
  const t0 = Date.now();
  for (let i = 0; i < 100_000; i++) {
    const state = await readOperState(client, ctx.platform);
    const [failedPeers, verified] = await Promise.all([pushFailedDevices(ctx.store, ctx.jobId), ctx.store.redis.smembers(verifiedKey(ctx.jobId))]);
    last = checkDevice({ plan: ctx.plan, state, loopbacks, failedPeers, phase });
    if (last.ok && phase !== settings.verifyPhase) {
      await ctx.log(`underlay verified after ${((Date.now() - t0) / 1000).toFixed(1)} s (${last.checked} checks); now the overlay`);
      phase = settings.verifyPhase;
      last = checkDevice({ plan: ctx.plan, state, loopbacks, failedPeers, phase });
    }
    if (last.ok) break;
    const now = Date.now();
    if (now >= graceEnd) break;
    if (now >= end) {
      const pending = last.blame.every((p) => !verified.includes(p));
      if (!(last.up > 0 && last.blame.length > 0 && pending)) break;
    }
    await ctx.checkCancel();
    await sleep(settings.verifyPollMs);
  }
  if (!last!.ok) throw new Error(`verify: ${describeVerify(last!)}`);
  await ctx.store.redis.multi().sadd(verifiedKey(ctx.jobId), ctx.device).expire(verifiedKey(ctx.jobId), 86_400).exec();
  return last!;
}

/**
 * The device already runs the intended config, but the config history's newest entry says
 * otherwise: the commit that put it there lost its record (its worker died between the confirm
 * and the history write, and the retry found nothing to push). Record it now, so the history
 * (which a rollback job reads back) says what the device runs.
 */
async function recordAdopted(ctx: PushContext, intended: Record<string, string>): Promise<void> {
  const text = commitText(intended);
  const last = (await ctx.store.listConfigCommits(ctx.fabric, ctx.device, { limit: 1 }))[0];
  if (last?.text === text) return;
  await ctx.store.addConfigCommit(ctx.fabric, ctx.device, { jobId: ctx.jobId, text, diff: '', platform: ctx.platform });
  await ctx.log('config history did not show the running config (a commit whose record was lost): recorded it');
}

/** A commit that took: neighbours stop treating the device as failed, history, drift and state say so. */
async function recordCommit(ctx: PushContext, intended: Record<string, string>, diff: string): Promise<void> {
  await ctx.store.redis.srem(failedKey(ctx.jobId), ctx.device);
  await ctx.store.addConfigCommit(ctx.fabric, ctx.device, { jobId: ctx.jobId, text: commitText(intended), diff, platform: ctx.platform });
  await ctx.store.recordDrift(ctx.fabric, [[ctx.device, false]]); // it runs the intended config now
  await ctx.store.updateDevice(ctx.fabric, ctx.device, { onboardingState: 'underlay_configured' }, { actor: `job:${ctx.jobId}` });
}

const sameFiles = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The confirming commit got no answer: the device either took it (and runs the new config for
 * good) or never saw it (and its confirm timer restores the previous one). Wait until that timer
 * must have fired, then read running again, so the job says which instead of guessing.
 */
async function afterUnknownConfirm(settings: PushSettings, ctx: PushContext, e: TransactionError, intended: Record<string, string>, previous?: Record<string, string>): Promise<string | undefined> {
  const cc = e.result.steps.find((s) => s.name === 'commit-confirmed');
  const timerMs = platformModule(ctx.platform).commit.timerSeconds(settings.confirmTimeoutSeconds) * 1000;
  // The device started its timer before it answered the confirmed commit.
  const from = cc ? Date.parse(cc.startedAt) + (cc.ms ?? 0) : Date.now();
  const waitMs = Math.max(0, from + timerMs + Math.max(2_000, timerMs / 10) - Date.now());
  await ctx.log(`no answer to the confirming commit: looking at the device again in ${Math.ceil(waitMs / 1000)} s, after its confirm timer`);
  await sleep(waitMs);
  let running: Record<string, string>;
  try {
    const { client } = await connectWith(settings, ctx.store, ctx.fabric, ctx.device);
    try { running = await readRunning(client, ctx.device, ctx.platform); } finally { await client.close(); }
  } catch (err) {
    return `cannot read the device after its confirm timer (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): outcome unknown`;
  }
  if (sameFiles(running, intended)) return undefined;
  if (!previous || sameFiles(running, previous)) return 'the device rolled back by its confirm timer: it runs the previous config';
  return 'after its confirm timer the device runs neither the intended nor the previous config';
}

/** `session N` when a push failed because another session holds the candidate lock. */
function lockHolder(e: unknown): string | undefined {
  if (!(e instanceof TransactionError) || e.step !== 'lock') return undefined;
  const c = e.cause;
  if (!(c instanceof NetconfRpcError) || c.tag !== 'lock-denied') return undefined;
  const sid = c.errors[0]?.info?.['session-id'];
  return sid ? `session ${sid}` : 'another session';
}

/**
 * The device push (createPush; the service's autoconfigure and rollback types are built with
 * one, runtime.ts). A candidate locked by another session is waited for, bounded (lockWaitMs): after a Redis outage longer than the job
 * lock, BullMQ hands a device job to a second worker while the first is still pushing it (found
 * by test/chaos/redis-kill.test.ts), and an operator's session ends too; failing at once made
 * the job fail while the device was being configured.
 */
async function pushWith(settings: PushSettings, ctx: PushContext): Promise<Record<string, unknown>> {
  const deadline = Date.now() + settings.lockWaitMs;
  for (let i = 0; ; i++) {
    try {
      return await pushOnce(settings, ctx);
    } catch (e) {
      const holder = lockHolder(e);
      if (!holder || Date.now() + settings.lockPollMs > deadline) throw e;
      if (i === 0) await ctx.log(`candidate locked by ${holder}; waiting for it (at most ${Math.round(settings.lockWaitMs / 1000)} s)`);
      await ctx.checkCancel();
      await sleep(settings.lockPollMs);
    }
  }
}

async function pushOnce(settings: PushSettings, ctx: PushContext): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  let client: NetconfClient;
  try {
    ({ client } = await connectWith(settings, ctx.store, ctx.fabric, ctx.device));
  } catch (e) {
    if (!ctx.dryRun) await markPushFailed(ctx.store, ctx.jobId, ctx.device);
    throw e;
  }
  const platform = platformModule(ctx.platform);
  const speaks = platformOfSession(client);
  if (speaks !== platform) {
    await client.close();
    if (!ctx.dryRun) await markPushFailed(ctx.store, ctx.jobId, ctx.device);
    throw new Error(`platform mismatch: the plan says ${ctx.platform}, the device's hello says ${speaks.name}`);
  }
  if (ctx.guardRenumber && !ctx.keepUnderlay && platform.readUnderlay) {
    let changes: string[];
    try {
      changes = renumberings(ctx.plan, await platform.readUnderlay(client, ctx.device));
    } catch (e) {
      await client.close();
      if (!ctx.dryRun) await markPushFailed(ctx.store, ctx.jobId, ctx.device);
      throw e;
    }
    if (changes.length) {
      await client.close();
      const msg = `would renumber the running underlay: ${changes.join('; ')} (autoconfigure with renumber: true to allow it)`;
      if (ctx.dryRun) {
        await ctx.log(`dry run: ${msg}`);
        return { changed: true, renumber: changes, refused: msg };
      }
      await markPushFailed(ctx.store, ctx.jobId, ctx.device);
      throw new Error(msg);
    }
  }
  let files = ctx.files;
  if (ctx.plan.overlayEcmp && platform.overlayEcmp) {
    let runs: boolean;
    try {
      runs = await platform.overlayEcmp.runs(client);
    } catch (e) {
      await client.close();
      if (!ctx.dryRun) await markPushFailed(ctx.store, ctx.jobId, ctx.device);
      throw e;
    }
    if (!runs && ctx.pfeRestart === 'refuse') {
      await client.close();
      const msg = overlayEcmpRefusal(ctx.device);
      if (ctx.dryRun) {
        await ctx.log(`dry run: ${msg}`);
        return { changed: true, pfeRestart: true, refused: msg };
      }
      await markPushFailed(ctx.store, ctx.jobId, ctx.device);
      throw new Error(msg);
    }
    if (!runs && ctx.pfeRestart === 'allow') await ctx.log('adds forwarding-options vxlan-routing overlay-ecmp: the Packet Forwarding Engine restarts (the device is drained)');
    if (!runs && ctx.pfeRestart === undefined) {
      files = platform.overlayEcmp.without(files);
      await ctx.log('overlay-ecmp left out of this push (adding it restarts the PFE): autoconfigure the device while it is in maintenance');
    }
  }
  const owned = files; // the service's part (overlay-ecmp left out when it must wait)
  let intended = platform.comparableIntended(ctx.device, files);
  // keepUnderlay: the running config with the service's part woven in, read under the lock
  const load = async (c: NetconfClient): Promise<void> => {
    if (ctx.keepUnderlay && platform.adoptedFiles) {
      files = platform.adoptedFiles(ctx.device, await platform.readRunning(c, ctx.device), owned, ctx.keepUnderlay.ownedBefore);
      intended = platform.comparableIntended(ctx.device, files);
    }
    await platform.load(c, ctx.device, files);
  };
  let verified: VerifyResult | undefined;
  let previous: Record<string, string> | undefined;
  const steps: string[] = [];
  try {
    const r = await pushConfig({
      client,
      flavour: platform.commit,
      load,
      // A dialect without the device's own diff: ours, running (as the platform reads it) -> intended.
      computeDiff: platform.commit.deviceDiff ? undefined : async (c) => diffFiles((previous = await platform.readRunning(c, ctx.device)), intended),
      verify: settings.verify ? async (c) => { verified = await verifyUntil(settings, ctx, c); } : undefined,
      confirmTimeoutSeconds: settings.confirmTimeoutSeconds,
      dryRun: ctx.dryRun,
      onStep: (s) => {
        if (s.state !== 'running') steps.push(`${s.name}:${s.state}${s.detail ? ` (${s.detail})` : ''}`);
        return settings.onStep?.(ctx.device, s);
      },
    });
    const ms = Date.now() - t0;
    if (ctx.dryRun) {
      await ctx.log(r.diff ? `dry run: ${r.diff.split('\n').length} diff lines against running` : 'dry run: no changes');
      return { diff: r.diff, changed: r.diff.trim() !== '', ms };
    }
    if (!r.committed) {
      await ctx.log('no changes: running already matches the intended config; nothing pushed');
      await ctx.store.redis.srem(failedKey(ctx.jobId), ctx.device);
      await recordAdopted(ctx, intended);
      await ctx.store.recordDrift(ctx.fabric, [[ctx.device, false]]);
      await ctx.store.updateDevice(ctx.fabric, ctx.device, { onboardingState: 'underlay_configured' }, { actor: `job:${ctx.jobId}` }).catch(() => undefined);
      return { changed: false, committed: false, ms, steps };
    }
    await ctx.log(`committed (${r.diff.split('\n').length} diff lines); ${verified ? describeVerify(verified) : 'verify turned off'}`);
    await recordCommit(ctx, intended, r.diff);
    return { changed: true, committed: true, ms, steps, ...(verified ? { verify: { checks: verified.checked, notes: verified.notes } } : {}) };
  } catch (e) {
    if (!ctx.dryRun) await markPushFailed(ctx.store, ctx.jobId, ctx.device);
    if (e instanceof TransactionError) {
      if (!lockHolder(e)) await ctx.log(`push failed at ${e.step}: ${e.message}; steps ${steps.join(', ')}`);
      if (e.result.confirmUnknown && !ctx.dryRun) {
        const why = await afterUnknownConfirm(settings, ctx, e, intended, previous);
        if (!why) {
          await ctx.log('the confirming commit got no reply, but after the confirm timer the device still runs the intended config: the confirm arrived');
          await recordCommit(ctx, intended, e.result.diff);
          return { changed: true, committed: true, confirmReplyLost: true, ms: Date.now() - t0, steps };
        }
        // Keep the TransactionError (its step and result) and say what was found.
        e.message += `; looked again: ${why}`;
      }
    }
    throw e;
  }
}

/** The service's push: NETCONF on port 830 of the management address, verify on. */
export const defaultPush: DevicePush = createPush();
export const pushDeviceConfig: PushDeviceFn = defaultPush.push;
