// A fabric as a running service holds it, read over the REST API (viewer token): the inventory
// (devices with what discovery found, links with the /31 the service allocated, services), each
// device's intended config as the last autoconfigure recorded it, and its state. For the
// exports in this folder; never reads a secret (the API returns none).
import type { Allocations, DeviceSpec, FabricFile, LinkSpec, PhysicalRole } from '../domain/types';
import { linkKey } from '../domain/types';
import type { DeviceFacts } from './netbox/export';
import type { ClabSwitch } from './containerlab';

export interface ApiReader { request<T = unknown>(method: string, path: string): Promise<T> }

interface DeviceItem { name: string; serial: string | null; profile: string | null; managementIp: string | null; physicalRole: PhysicalRole | null; roles: string[]; managedState: string }
interface LinkItem { a: { device: string; port: string }; b: { device: string; port: string }; subnet?: string }

export interface ServiceFabric {
  file: FabricFile;
  /** the service's stored allocation (GET /fabrics/{f}/allocations) */
  existing: Allocations;
  facts: Map<string, DeviceFacts>;
  /** the intended config (platform + files) of each device, as the service renders or recorded it */
  switches(): Promise<ClabSwitch[]>;
}

const STATUS: Record<string, DeviceFacts['status']> = { active: 'active', dhcp: 'planned', activating: 'planned', maintenance: 'offline', rma: 'failed', error: 'failed' };

export async function fabricFromService(api: ApiReader, name: string): Promise<ServiceFabric> {
  const f = encodeURIComponent(name);
  const [rec, devs, links, alloc, vns, lrs, servers, vpgs, exts] = await Promise.all([
    api.request<{ name: string; namespaces: FabricFile['fabric']['namespaces']; settings: FabricFile['fabric']['settings']; credentials: { username: string } }>('GET', `/fabrics/${f}`),
    api.request<{ items: DeviceItem[] }>('GET', `/fabrics/${f}/devices`),
    api.request<{ items: LinkItem[] }>('GET', `/fabrics/${f}/links`),
    api.request<Allocations>('GET', `/fabrics/${f}/allocations`),
    api.request<{ items: NonNullable<FabricFile['virtualNetworks']> }>('GET', `/fabrics/${f}/virtual-networks`),
    api.request<{ items: NonNullable<FabricFile['logicalRouters']> }>('GET', `/fabrics/${f}/logical-routers`),
    api.request<{ items: NonNullable<FabricFile['servers']> }>('GET', `/fabrics/${f}/servers`),
    api.request<{ items: NonNullable<FabricFile['vpgs']> }>('GET', `/fabrics/${f}/vpgs`),
    api.request<{ items: NonNullable<FabricFile['externalNetworks']> }>('GET', `/fabrics/${f}/external-networks`),
  ]);
  const unplanned = devs.items.filter((d) => !d.profile || !d.physicalRole).map((d) => d.name);
  if (unplanned.length) throw new Error(`fabric ${name}: ${unplanned.join(', ')} ${unplanned.length > 1 ? 'have' : 'has'} no profile or physical role yet (onboard and assign roles first)`);
  const devices: DeviceSpec[] = devs.items.map((d) => ({
    name: d.name, ...(d.serial ? { serial: d.serial } : {}), profile: d.profile!, physicalRole: d.physicalRole!, roles: d.roles,
    ...(d.managementIp ? { managementIp: d.managementIp } : {}),
  }));
  const linkSpecs: LinkSpec[] = links.items.map((l) => ({ a: l.a, b: l.b }));
  // the stored record first; a link added since the last allocation keeps the /31 its GET shows
  const existing: Allocations = { loopbacks: { ...alloc.loopbacks }, asns: { ...alloc.asns }, links: { ...alloc.links } };
  for (const l of links.items) if (l.subnet && !existing.links[linkKey(l)]) existing.links[linkKey(l)] = l.subnet;
  const file: FabricFile = {
    // the password is never read: exports write no credentials
    fabric: { name: rec.name, credentials: { username: rec.credentials.username, password: 'not-exported' }, namespaces: rec.namespaces, settings: rec.settings },
    devices, links: linkSpecs,
    virtualNetworks: vns.items, logicalRouters: lrs.items, servers: servers.items, vpgs: vpgs.items,
    ...(exts.items.length ? { externalNetworks: exts.items } : {}),
  };
  const facts = new Map(devs.items.map((d) => [d.name, { ...(d.managementIp ? { managementIp: d.managementIp } : {}), status: STATUS[d.managedState] ?? 'planned' } satisfies DeviceFacts]));
  const switches = async (): Promise<ClabSwitch[]> => Promise.all(devs.items.map(async (d) => {
    const c = await api.request<{ platform: string; files: Record<string, string> }>('GET', `/fabrics/${f}/devices/${encodeURIComponent(d.name)}/config`);
    return { name: d.name, platform: c.platform, physicalRole: d.physicalRole!, profile: d.profile, files: c.files };
  }));
  return { file, existing, facts, switches };
}
