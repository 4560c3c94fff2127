// Device operations shared by the maintenance and upgrade jobs: the device's plan and rendered
// files, drain/undrain pushes (the ordinary NETCONF transaction with verify), and reading what
// the device reports. Every push goes through pushDeviceConfig: commit confirmed, rollback.
import type { DevicePlan } from '../../domain/types';
import { factsFrom } from '../../discovery/facts';
import { renderDevice } from '../../platforms';
import type { Store } from '../../store';
import type { ManagedState } from '../../store/types';
import { planFromStore } from '../plan-from-store';
import { readRunning, type DevicePush } from '../push';
import { readOperState, type OperState } from '../verify';
import { drainFiles, hasDrain } from './drain';
import { drainedEsiPorts, esiLagMembers } from './esi-drain';
import { drainProblems, peerProblems, readEsiState, restoreProblems, type EsiLag, type FrrEs } from './esi-state';

export interface DeviceOpContext {
  jobId: string;
  fabric: string;
  device: string;
  store: Store;
  /** how devices are reached and pushed (createPush; the service's defaultPush) */
  dp: DevicePush;
  log(message: string): Promise<void>;
  checkCancel(): Promise<void>;
}

export interface DeviceIntent { plan: DevicePlan; platform: string; files: Record<string, string>; loopbacks: Record<string, string> }

/** The device's compiled plan and rendered (undrained) files. */
export async function deviceIntent(store: Store, fabric: string, device: string): Promise<DeviceIntent> {
  const { plans, allocations } = await planFromStore(store, fabric, false);
  const plan = plans.find((p) => p.name === device);
  if (!plan) throw new Error(`device ${device} has no plan (profile and physical role needed)`);
  return { plan, platform: plan.platform, files: renderDevice(plan).files, loopbacks: allocations.loopbacks };
}

const actor = (ctx: DeviceOpContext) => ({ actor: `job:${ctx.jobId}` });

export async function setState(ctx: DeviceOpContext, state: ManagedState, extra: { osVersion?: string } = {}): Promise<void> {
  await ctx.store.updateDevice(ctx.fabric, ctx.device, { managedState: state, ...extra }, actor(ctx));
}

async function push(ctx: DeviceOpContext, intent: DeviceIntent, files: Record<string, string>): Promise<Record<string, unknown>> {
  return (await ctx.dp.push({
    jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, plan: intent.plan, platform: intent.platform, files,
    store: ctx.store, loopbacks: intent.loopbacks, log: ctx.log, checkCancel: ctx.checkCancel,
  })) ?? {};
}

/**
 * Drains the device: the state goes first (so an autoconfigure meanwhile keeps the drain), then
 * the drained config is pushed and verified (every session of the plan still Established: a
 * graceful shutdown moves traffic, it does not drop sessions), and the running config is read
 * back to show the drain is there.
 */
export async function enterMaintenance(ctx: DeviceOpContext, intent: DeviceIntent, state: 'maintenance' | 'upgrading'): Promise<void> {
  await setState(ctx, state);
  await push(ctx, intent, drainFiles(intent.platform, intent.files));
  const running = await readRunningOf(ctx);
  if (!hasDrain(intent.platform, running)) throw new Error('drain: the running config does not carry bgp graceful-shutdown after the push');
  await ctx.log('drained: BGP graceful shutdown in the running config, every planned session still up');
  const lags = esiLagMembers(intent.platform, intent.files);
  if (!lags.length) return;
  try {
    const off = drainedEsiPorts(intent.platform, running);
    const on = lags.flatMap((l) => l.ports).filter((p) => !off.includes(p));
    if (on.length) throw new Error(`the running config does not take ${on.join(', ')} out of service`);
    await verifyEsDrained(ctx, intent, lags);
  } catch (e) {
    // A drain that did not move the servers is not a drain: put the intended config back.
    await push(ctx, intent, intent.files).catch(() => undefined);
    throw new Error(`drain: ESI-LAG ${lags.map((l) => l.lag).join(', ')}: ${e instanceof Error ? e.message : String(e)} (intended config pushed back)`);
  }
}

/** Pushes the undrained intended config (verified) and returns the device to managed. */
export async function leaveMaintenance(ctx: DeviceOpContext, intent: DeviceIntent): Promise<void> {
  await push(ctx, intent, intent.files);
  const running = await readRunningOf(ctx);
  if (hasDrain(intent.platform, running)) throw new Error('undrain: the running config still carries bgp graceful-shutdown');
  const lags = esiLagMembers(intent.platform, intent.files);
  if (lags.length) {
    const left = drainedEsiPorts(intent.platform, running);
    if (left.length) throw new Error(`undrain: the running config still keeps ${left.join(', ')} out of service`);
    const last = await untilEs(ctx, intent.platform, (seen) => restoreProblems(intent.platform, lags, seen));
    if (last.length) throw new Error(`undrain: ESI-LAG not back after ${ES_WAIT_MS / 1000} s: ${last.join('; ')}`);
    await ctx.log(`undrained: ESI-LAG ${lags.map((l) => l.lag).join(', ')} members back in service, the ES up again`);
  }
  await setState(ctx, 'active');
  await ctx.log('undrained: intended config without graceful shutdown, verified; back to managed');
}

const ES_WAIT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the device's (or `device`'s) ES state until `problems` is empty (bounded); the last problems. */
async function untilEs(ctx: DeviceOpContext, platform: string, problems: (seen: Awaited<ReturnType<typeof readEsiState>>) => string[], device = ctx.device): Promise<string[]> {
  const end = Date.now() + ES_WAIT_MS;
  let last: string[] = ['not read yet'];
  for (let i = 0; i < 10_000 && Date.now() < end; i++) {
    try {
      const { client } = await ctx.dp.connect(ctx.store, ctx.fabric, device);
      try { last = problems(await readEsiState(client, platform)); } finally { await client.close().catch(() => undefined); }
    } catch (e) { last = [`${device}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`]; }
    if (!last.length) return [];
    await sleep(1000);
  }
  return last;
}

/**
 * The device's ES on each drained LAG is down and not designated forwarder; on FRR also each ES
 * peer (the other leaves of the VPG) reports that ES up and designated forwarder: the servers' traffic moved.
 */
async function verifyEsDrained(ctx: DeviceOpContext, intent: DeviceIntent, lags: EsiLag[]): Promise<void> {
  let seen: FrrEs[] = [];
  const last = await untilEs(ctx, intent.platform, (s) => { if (intent.platform === 'frr' && s) seen = s as FrrEs[]; return drainProblems(intent.platform, lags, s); });
  if (last.length) throw new Error(`not drained after ${ES_WAIT_MS / 1000} s: ${last.join('; ')}`);
  if (intent.platform !== 'frr') {
    await ctx.log(`drained: ESI-LAG ${lags.map((l) => l.lag).join(', ')} members disabled, the LAG down (its ES withdrawn)`);
    return;
  }
  const mine = new Set(lags.map((l) => l.lag));
  const vpgs = intent.plan.vpgs.filter((v) => v.lag && mine.has(v.lag));
  const byVpg = new Map((await ctx.store.getServices(ctx.fabric)).vpgs.map((v) => [v.name, v]));
  const peers = new Map<string, string[]>();
  for (const v of vpgs) {
    const esi = seen.find((e) => e.accessPort === v.lag)?.esi;
    if (!esi) continue;
    for (const p of byVpg.get(v.name)?.ports ?? []) if (p.device !== ctx.device) peers.set(p.device, [...(peers.get(p.device) ?? []), esi]);
  }
  for (const [peer, esis] of peers) {
    const bad = await untilEs(ctx, 'frr', (s) => peerProblems(peer, esis, s as FrrEs[] | undefined), peer);
    if (bad.length) throw new Error(`the ES peer does not carry the servers after ${ES_WAIT_MS / 1000} s: ${bad.join('; ')}`);
  }
  await ctx.log(`drained: ESI-LAG ${lags.map((l) => l.lag).join(', ')} members down, the ES down here and not DF; designated forwarder now: ${[...peers.keys()].join(', ') || 'no peer listed'}`);
}

/** Re-pushes `files` when the running config differs (after a reboot); true when it pushed. */
export async function repushIfDiffers(ctx: DeviceOpContext, intent: DeviceIntent, files: Record<string, string>): Promise<boolean> {
  const r = await push(ctx, intent, files);
  return r.committed === true;
}

export async function readRunningOf(ctx: DeviceOpContext): Promise<Record<string, string>> {
  const { client, platform } = await ctx.dp.connect(ctx.store, ctx.fabric, ctx.device);
  try { return await readRunning(client, ctx.device, platform); } finally { await client.close().catch(() => undefined); }
}

/** The version the device reports now, and its operational state. */
export async function readDevice(ctx: Pick<DeviceOpContext, 'store' | 'fabric' | 'device' | 'dp'>, o: { state?: boolean } = {}): Promise<{ osVersion: string; state?: OperState }> {
  const { client, platform } = await ctx.dp.connect(ctx.store, ctx.fabric, ctx.device);
  try {
    const facts = await factsFrom(client);
    return { osVersion: facts.osVersion, ...(o.state ? { state: await readOperState(client, platform) } : {}) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

export const established = (s: OperState) => s.bgp.filter((b) => b.state === 'Established').map((b) => `${b.peer}/${b.afi ?? 'any'}`).sort();
