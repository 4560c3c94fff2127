// DHCP_BACKEND=kea (src/discovery/service.ts): Kea on DHCP_INTERFACE, state under DATA_DIR/kea.
import { join } from 'node:path';
import type { Store } from '../../store';
import { loadProfiles } from '../../domain/profiles';
import { interfaceAddress } from '../dhcp';
import { RedisLeaseStore } from '../dhcp/leases';
import { KeaDhcpBackend, type KeaDevice } from './backend';

export { KeaDhcpBackend } from './backend';
export type { KeaBackendOptions, KeaDevice } from './backend';
export { keaCommand } from './control';

/** The listed devices with a serial and their platform (from the node profile), for reservations. */
export function storeDevices(store: Store): (fabric: string) => Promise<KeaDevice[]> {
  const profiles = loadProfiles();
  return async (fabric) => (await store.listDevices(fabric)).filter((d) => d.serial).map((d) => ({
    serial: d.serial!,
    platform: d.profile && Object.hasOwn(profiles, d.profile) ? profiles[d.profile].platform : undefined,
  }));
}

export async function startKea(o: {
  store: Store; interface: string; dataDir: string; ztpBaseUrl?: string; port: number; log?: (m: string) => void; tickMs?: number;
}): Promise<KeaDhcpBackend> {
  const { address } = interfaceAddress(o.interface);
  const kea = new KeaDhcpBackend({
    leases: new RedisLeaseStore(o.store.redis), redis: o.store.redis, interface: o.interface, serverAddress: address,
    ztpBaseUrl: o.ztpBaseUrl ?? `http://${address}:${o.port}`, dir: join(o.dataDir, 'kea'),
    devices: storeDevices(o.store), log: o.log, tickMs: o.tickMs,
  });
  await kea.start();
  return kea;
}
