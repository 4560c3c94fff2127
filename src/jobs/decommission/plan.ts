// Removing a device from a live fabric (issue 15), the pure part: why a removal is refused, and
// which peers' configs change once the device, its links and its allocations are gone. The job
// (job.ts) drains, pushes exactly those peers, then deletes the device in the store.
import type { Allocations, DevicePlan, FabricFile } from '../../domain/types';
import { linkKey } from '../../domain/types';
import { compileFabric } from '../../intent/compile';
import { renderDevice } from '../../platforms';

/** States in which a device is a live peer: its sessions to the removed device matter. */
const MANAGED = new Set(['active', 'maintenance', 'upgrading']);

export interface Refusal { code: 'last-route-reflector' | 'vpg-ports' | 'server-nics' | 'cabled'; message: string; forceable: boolean }

/**
 * Why `device` may not be removed, or [] when it may. The last route reflector and a device
 * with VPG ports or server NICs are refused even with force (the overlay would lose its RR; the
 * services must be moved first, the store would refuse anyway); links to managed peers only
 * without force (the operator says the box is being uncabled).
 */
export function removalRefusals(file: FabricFile, states: ReadonlyMap<string, string>, device: string): Refusal[] {
  const out: Refusal[] = [];
  const dev = file.devices.find((d) => d.name === device);
  if (!dev) return out;
  const isRr = (d: { roles: string[] }) => d.roles.includes('Route-Reflector');
  if (isRr(dev) && !file.devices.some((d) => d.name !== device && isRr(d))) {
    out.push({ code: 'last-route-reflector', forceable: false, message: `device ${device} is the fabric's last route reflector: give another device the Route-Reflector role first` });
  }
  const vpgs = (file.vpgs ?? []).filter((v) => v.ports.some((p) => p.device === device)).map((v) => v.name);
  if (vpgs.length) out.push({ code: 'vpg-ports', forceable: false, message: `device ${device} has ports in VPG ${vpgs.join(', ')}: move or delete the VPG first` });
  const servers = (file.servers ?? []).filter((s) => s.nics.some((n) => n.device === device)).map((s) => s.name);
  if (servers.length) out.push({ code: 'server-nics', forceable: false, message: `device ${device} is cabled to server ${servers.join(', ')}: remove the server's NICs on it first` });
  const peers = [...new Set(file.links.filter((l) => l.a.device === device || l.b.device === device)
    .map((l) => (l.a.device === device ? l.b.device : l.a.device))
    .filter((p) => p !== device && MANAGED.has(states.get(p) ?? '')))].sort();
  if (peers.length) {
    out.push({ code: 'cabled', forceable: true, message: `device ${device} is still cabled to managed peers ${peers.join(', ')}: delete those links first, or remove with force=true (its peers lose their sessions to it)` });
  }
  return out;
}

/** The refusals that stand given `force` (force lifts only the forceable ones). */
export const standingRefusals = (r: Refusal[], force: boolean): Refusal[] => r.filter((x) => !force || !x.forceable);

/** The fabric without `device`: its links, services' references and allocations dropped. */
export function withoutDevice(file: FabricFile, allocations: Allocations, device: string): { file: FabricFile; allocations: Allocations } {
  const touches = (l: FabricFile['links'][number]) => l.a.device === device || l.b.device === device;
  const links = { ...allocations.links };
  for (const l of file.links) if (touches(l)) delete links[linkKey(l)];
  const loopbacks = { ...allocations.loopbacks };
  const asns = { ...allocations.asns };
  delete loopbacks[device];
  delete asns[device];
  return {
    file: { ...file, devices: file.devices.filter((d) => d.name !== device), links: file.links.filter((l) => !touches(l)) },
    allocations: { ...allocations, loopbacks, asns, links },
  };
}

const sameFiles = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/**
 * The devices whose rendered config differs between two compiled fabrics (new ones included),
 * sorted by name: what a push after a fabric change must touch, and nothing else.
 */
export function changedPlans(before: DevicePlan[], after: DevicePlan[]): { plan: DevicePlan; files: Record<string, string>; isNew: boolean }[] {
  const old = new Map(before.map((p) => [p.name, renderDevice(p).files]));
  const out: { plan: DevicePlan; files: Record<string, string>; isNew: boolean }[] = [];
  for (const p of after) {
    const files = renderDevice(p).files;
    const prev = old.get(p.name);
    if (!prev || !sameFiles(prev, files)) out.push({ plan: p, files, isNew: !prev });
  }
  return out.sort((x, y) => (x.plan.name < y.plan.name ? -1 : x.plan.name > y.plan.name ? 1 : 0));
}

/** The peers whose config changes when `device` leaves, with their new plans and files. */
export function peersAfterRemoval(file: FabricFile, allocations: Allocations, device: string): { plan: DevicePlan; files: Record<string, string> }[] {
  const before = compileFabric(file, allocations);
  const rest = withoutDevice(file, allocations, device);
  return changedPlans(before, compileFabric(rest.file, rest.allocations)).map(({ plan, files }) => ({ plan, files }));
}

export { sameFiles };
