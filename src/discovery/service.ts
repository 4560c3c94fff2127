// What the API process runs for discovery: the ZTP bootstrap route (public: devices carry no
// token) and, when DHCP_INTERFACE is set, the DHCP server on that interface's segment.
import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../store';
import { RedisLeaseStore, startDhcpFromEnv, type DhcpServer } from './dhcp';
import { ztpPlugin } from './ztp-http';

/** The ZTP route bound to the service's store: `await app.register(ztpRoutes(store))`. */
export function ztpRoutes(store: Store): FastifyPluginAsync {
  return async (app) => {
    await app.register(ztpPlugin, {
      leases: new RedisLeaseStore(store.redis),
      secrets: (f) => store.getFabricSecrets(f),
      deviceName: async (f, serial) => (await store.listDevices(f)).find((d) => d.serial === serial)?.name,
      onServed: (ev) => app.log.info({ fabric: ev.fabric, serial: ev.serial, ip: ev.ip }, 'ztp bootstrap served'),
    });
  };
}

export interface DiscoveryServices { dhcp?: DhcpServer; stop(): Promise<void> }

/** Starts the DHCP server the configuration asks for (DHCP_INTERFACE, ZTP_BASE_URL, PORT). */
export async function startDiscoveryServices(o: {
  store: Store;
  config: { dhcpInterface?: string; ztpBaseUrl?: string; port?: number };
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}): Promise<DiscoveryServices> {
  if (!o.config.dhcpInterface) return { stop: async () => undefined };
  const env: NodeJS.ProcessEnv = {
    DHCP_INTERFACE: o.config.dhcpInterface,
    ...(o.config.ztpBaseUrl ? { ZTP_BASE_URL: o.config.ztpBaseUrl } : {}),
    PORT: String(o.config.port ?? 8080),
  };
  const dhcp = await startDhcpFromEnv(o.store.redis, env, { log: (m) => o.logger?.info({ component: 'dhcp' }, m) });
  o.logger?.info({ interface: o.config.dhcpInterface, address: dhcp?.address() }, 'dhcp server listening');
  return { dhcp, stop: async () => { await dhcp?.stop(); } };
}
