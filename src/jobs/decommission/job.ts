// The remove-device job (issue 15, DELETE /fabrics/{f}/devices/{d}): fabric lock; plan: the
// refusals again (the fabric may have changed since the API checked), drain the device (the
// maintenance drain: BGP graceful shutdown, verified), compile the fabric without it; one child
// per peer whose config changes, pushed (commit confirmed, verify); finalize: only when every
// peer took its new config, the device is deleted in one store transaction (allocations, links,
// serial freed; peers' needsConfig markers cleared), its DHCP leases released, its config
// history kept under its name. A failed peer push leaves the device in the store, drained.
import type { DevicePlan } from '../../domain/types';
import { allocate } from '../../intent/allocate';
import { RedisLeaseStore } from '../../discovery/dhcp/leases';
import type { Store } from '../../store';
import { JobFailedError } from '../errors';
import { defaultPush, type DevicePush } from '../push';
import { canonicalOrder } from '../plan-from-store';
import type { JobTypeDef } from '../registry';
import { drainFiles, isDrained } from '../maintenance/drain';
import { deviceIntent, enterMaintenance, type DeviceOpContext } from '../maintenance/ops';
import { peersAfterRemoval, removalRefusals, standingRefusals, withoutDevice } from './plan';

export interface RemoveDeviceParams { device: string; force?: boolean; requestedBy?: string }

interface PeerData { plan: DevicePlan; files: Record<string, string>; loopbacks: Record<string, string> }
interface PlanData { device: string; peers: string[]; notPushed: string[]; drained: boolean; freed: { loopback?: string; asn?: number; links: string[] } }

/** States in which a device answers NETCONF with a config the service pushed. */
const LIVE = new Set(['active', 'maintenance', 'upgrading']);

export function removeDeviceJob(o: { device?: DevicePush } = {}): JobTypeDef<RemoveDeviceParams> {
  const dp = o.device ?? defaultPush;
  return {
    type: 'remove-device',
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'push', weight: 1 }],
    attempts: 1,
    plan: async (ctx) => {
      const store = ctx.services.store as Store;
      const { device, force = false } = ctx.params;
      const dev = await store.getDevice(ctx.fabric, device);
      if (!dev) throw new Error(`device ${device} not found in fabric ${ctx.fabric}`);
      const { file: stored, allocations: existing } = await store.getFabricFile(ctx.fabric);
      const file = canonicalOrder(stored);
      const devices = await store.listDevices(ctx.fabric);
      const states = new Map(devices.map((d) => [d.name, d.managedState as string]));
      const refusals = removalRefusals(file, states, device);
      const standing = standingRefusals(refusals, force);
      if (standing.length) throw new Error(`refused: ${standing.map((r) => r.message).join('; ')}`);
      if (refusals.length) await ctx.log(`force: ${refusals.map((r) => r.message).join('; ')}`);
      // Drain first: its traffic moves to the other paths before its peers drop their sessions.
      let drained = false;
      if (dev.managementIp && LIVE.has(dev.managedState) && file.devices.some((d) => d.name === device)) {
        const op: DeviceOpContext = { jobId: ctx.jobId, fabric: ctx.fabric, device, store, dp, log: ctx.log, checkCancel: ctx.checkCancel };
        try {
          await enterMaintenance(op, await deviceIntent(store, ctx.fabric, device), 'maintenance');
          drained = true;
        } catch (e) {
          if (!force) throw new Error(`drain of ${device} failed (nothing removed; use force=true for a dead box): ${(e as Error).message}`);
          await ctx.log(`drain of ${device} failed, forced on: ${(e as Error).message}`);
        }
      } else {
        await ctx.log(`${device} is not drained: ${dev.managementIp ? `state ${dev.managedState}` : 'no management address'} (not a live device)`);
      }
      const allocations = allocate(file, existing);
      const rest = withoutDevice(file, allocations, device);
      const changed = peersAfterRemoval(file, allocations, device);
      // Peers that never took a pushed config are left for their next autoconfigure (marked needsConfig).
      const byName = new Map(devices.map((d) => [d.name, d]));
      const live = changed.filter((p) => { const r = byName.get(p.plan.name); return !!r?.managementIp && LIVE.has(r.managedState); });
      const notPushed = changed.filter((p) => !live.includes(p)).map((p) => p.plan.name);
      const touched = file.links.filter((l) => l.a.device === device || l.b.device === device)
        .map((l) => [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`].sort().join('--'));
      const freed = { loopback: existing.loopbacks[device], asn: existing.asns[device], links: touched.filter((k) => existing.links[k] !== undefined).map((k) => `${k} ${existing.links[k]}`) };
      await ctx.log(`removing ${device}: peers whose config changes: ${live.map((p) => p.plan.name).join(', ') || 'none'}${notPushed.length ? `; not live, left for autoconfigure: ${notPushed.join(', ')}` : ''}`);
      const data: PlanData = { device, peers: live.map((p) => p.plan.name), notPushed, drained, freed };
      return {
        devices: live.map((p) => ({ device: p.plan.name, data: { plan: p.plan, files: p.files, loopbacks: rest.allocations.loopbacks } satisfies PeerData })),
        data,
      };
    },
    runDevice: async (ctx) => {
      const store = ctx.services.store as Store;
      const { plan, files, loopbacks } = ctx.data as PeerData;
      await ctx.step('push');
      // A peer in maintenance keeps its drain through this push, as autoconfigure does.
      const drained = isDrained((await store.getDevice(ctx.fabric, ctx.device))?.managedState);
      const res = await dp.push({
        jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, plan, platform: plan.platform,
        files: drained ? drainFiles(plan.platform, files) : files, store, loopbacks, log: ctx.log, checkCancel: ctx.checkCancel,
      });
      return { platform: plan.platform, ...(res ?? {}) };
    },
    finalize: async (ctx) => {
      const store = ctx.services.store as Store;
      const data = ctx.planData as PlanData;
      const failed = Object.entries(ctx.devices).filter(([, o]) => o.state !== 'succeeded').map(([d]) => d);
      if (ctx.cancelled || failed.length) {
        throw new JobFailedError(`${data.device} not removed: ${ctx.cancelled ? 'cancelled' : `peers ${failed.join(', ')} did not take their new config`}; it stays in the fabric${data.drained ? ', drained (maintenance)' : ''}`, { removed: false, ...data });
      }
      const dev = await store.getDevice(ctx.fabric, data.device);
      if (!dev) throw new JobFailedError(`${data.device} was deleted by someone else while this job ran`, { removed: false, ...data });
      await store.deleteDevice(ctx.fabric, data.device, { actor: `job:${ctx.jobId}` }, { keepHistory: true, jobId: ctx.jobId });
      // Its peers have their new config now: no longer pending (deleteDevice marked them).
      await store.clearNeedsConfig(ctx.fabric, data.peers);
      // The DHCP reservation follows the device list (gone with the device); its leases go too.
      const leases = new RedisLeaseStore(ctx.services.redis);
      let released = 0;
      for (const l of await leases.list(ctx.fabric)) {
        if ((dev.serial && l.serial === dev.serial) || (dev.managementIp && l.ip === dev.managementIp)) { await leases.remove(ctx.fabric, l.ip); released++; }
      }
      await ctx.log(`removed ${data.device}: freed loopback ${data.freed.loopback ?? '-'}, ASN ${data.freed.asn ?? '-'}, ${data.freed.links.length} link subnet(s); ${released} DHCP lease(s) released; config history kept`);
      return { removed: true, ...data, releasedLeases: released };
    },
  };
}
