// The maintenance job (issue 15): one device, fabric lock. Entering drains it (drain.ts: BGP
// graceful shutdown pushed with commit confirmed and verified, the running config read back);
// leaving pushes the intended config without the drain and verifies it. A failed enter leaves
// the device in its previous state (the push rolled back); a failed leave keeps `maintenance`.
import type { Store } from '../../store';
import type { JobTypeDef } from '../registry';
import { defaultPush, type DevicePush } from '../push';
import { deviceIntent, enterMaintenance, leaveMaintenance, setState, type DeviceOpContext } from './ops';

export interface MaintenanceParams { device: string; enabled: boolean; requestedBy?: string }

/** `device`: how devices are reached and pushed (default: the service's). */
export function maintenanceJob(o: { device?: DevicePush } = {}): JobTypeDef<MaintenanceParams> {
  const dp = o.device ?? defaultPush;
  return {
    type: 'maintenance',
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'plan', weight: 1 }, { name: 'push', weight: 4 }],
    attempts: 1,
    plan: async (ctx) => {
      await ctx.log(`${ctx.params.enabled ? 'enter' : 'leave'} maintenance: ${ctx.params.device}`);
      return { devices: [{ device: ctx.params.device }] };
    },
    runDevice: async (ctx) => {
      const store = ctx.services.store as Store;
      const op: DeviceOpContext = { jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, store, dp, log: ctx.log, checkCancel: ctx.checkCancel };
      const before = (await store.getDevice(ctx.fabric, ctx.device))?.managedState ?? 'active';
      // Also checked by the route; a job queued before the RMA began must not touch the dead box.
      if (before === 'rma') throw new Error(`${ctx.device} is in RMA: nothing to drain or restore (skipped)`);
      const intent = await deviceIntent(store, ctx.fabric, ctx.device);
      await ctx.step('push');
      if (!ctx.params.enabled) {
        await leaveMaintenance(op, intent);
        return { managedState: 'active' };
      }
      try {
        await enterMaintenance(op, intent, 'maintenance');
      } catch (e) {
        await setState(op, before === 'maintenance' ? 'active' : before).catch(() => undefined);
        throw e;
      }
      return { managedState: 'maintenance' };
    },
  };
}
