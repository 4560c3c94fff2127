// What the upgrade planner needs, read from the store (IO at the edge; plan.ts stays pure).
import { loadProfiles, type ProfileSet } from '../../domain/profiles';
import type { Store } from '../../store';
import type { ImageRecord } from '../../store/images';
import { planUpgrade, type PlanInput, type PlanServer, type UpgradePlan } from './plan';

let profiles: ProfileSet | undefined;
const profileMap = () => new Map(Object.entries(profiles ??= loadProfiles()));

export async function planInputFromStore(store: Store, fabric: string, image: ImageRecord, o: { devices?: string[]; maxParallel?: number }): Promise<PlanInput> {
  const [devices, services] = await Promise.all([store.listDevices(fabric), store.getServices(fabric)]);
  const byProfile = profileMap();
  const servers: PlanServer[] = [
    ...services.servers.map((s) => ({ name: s.name, devices: s.nics.map((n) => n.device) })),
    // A VPG's ports across leaves is an ESI-LAG: the same rule as a server's NICs (a VPG of a
    // listed server adds only when its ports reach other devices than the server's NICs).
    ...services.vpgs.filter((v) => {
      const srv = v.server ? services.servers.find((s) => s.name === v.server) : undefined;
      return !srv || v.ports.some((p) => !srv.nics.some((n) => n.device === p.device));
    }).map((v) => ({ name: `vpg ${v.name}`, devices: v.ports.map((p) => p.device) })),
  ];
  return {
    devices: devices.map((d) => ({
      name: d.name, physicalRole: d.physicalRole, roles: d.roles, osVersion: d.osVersion, managedState: d.managedState, managementIp: d.managementIp,
      platform: (d.profile ? byProfile.get(d.profile)?.platform : undefined) ?? null,
    })),
    servers,
    image: { name: image.name, platform: image.platform, version: image.version },
    ...(o.devices ? { only: o.devices } : {}),
    ...(o.maxParallel !== undefined ? { maxParallel: o.maxParallel } : {}),
  };
}

export async function planFromStoreFor(store: Store, fabric: string, image: ImageRecord, o: { devices?: string[]; maxParallel?: number }): Promise<UpgradePlan> {
  return planUpgrade(await planInputFromStore(store, fabric, image, o));
}
