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
}

/** Pushes the undrained intended config (verified) and returns the device to managed. */
export async function leaveMaintenance(ctx: DeviceOpContext, intent: DeviceIntent): Promise<void> {
  await push(ctx, intent, intent.files);
  const running = await readRunningOf(ctx);
  if (hasDrain(intent.platform, running)) throw new Error('undrain: the running config still carries bgp graceful-shutdown');
  await setState(ctx, 'active');
  await ctx.log('undrained: intended config without graceful shutdown, verified; back to managed');
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
