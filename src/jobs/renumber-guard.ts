// Push guards, pure. Brownfield safety: what a push of `plan` would renumber on a device that
// runs `running` (its loopback, a port's address, the default instance's BGP AS); a push to an
// adopted fabric that would do so is refused unless autoconfigure was asked to renumber. And
// a change that restarts the forwarding engine (overlay-ecmp) waits for a drained device.
import type { DevicePlan } from '../domain/types';
import type { RunningUnderlay } from '../platforms/types';

/** The AS the plan's `router bgp` (FRR) / `autonomous-system` (Junos) runs in. */
export function plannedBgpAs(plan: DevicePlan): number {
  return plan.overlay && !plan.overlay.ebgp ? plan.overlay.asn : plan.asn;
}

/** One line per running value the plan would change; [] when nothing running changes. */
export function renumberings(plan: DevicePlan, running: RunningUnderlay): string[] {
  const out: string[] = [];
  if (running.loopback && running.loopback !== plan.loopback) out.push(`loopback ${running.loopback} -> ${plan.loopback}`);
  const asn = plannedBgpAs(plan);
  if (running.asn !== undefined && running.asn !== asn) out.push(`router bgp ${running.asn} -> ${asn}`);
  if (running.routerId && running.routerId !== plan.routerId) out.push(`bgp router-id ${running.routerId} -> ${plan.routerId} (resets every session)`);
  const planned = new Map(plan.interfaces.map((i) => [i.name, i.address]));
  for (const i of running.interfaces) {
    const name = i.name.replace(/\.0$/, '');
    if (!planned.has(name) && !planned.has(i.name)) continue; // a port the fabric does not manage
    const want = planned.get(name) ?? planned.get(i.name);
    if (want !== i.address) out.push(`${i.name} ${i.address} -> ${want ?? 'no address'}`);
  }
  return out;
}

/** Why a push of a plan that needs overlay-ecmp onto a device without it must wait for a drain. */
export function overlayEcmpRefusal(device: string): string {
  return `${device} needs forwarding-options vxlan-routing overlay-ecmp (ECMP over EVPN type-5 routes on this model) and does not run it; ` +
    'adding it restarts the Packet Forwarding Engine: put the device in maintenance (POST .../maintenance {enabled: true}), autoconfigure, then leave maintenance';
}
