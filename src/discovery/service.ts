// What the API process runs for discovery: the ZTP bootstrap route (public: devices carry no
// token) and, when DHCP_INTERFACE is set, the DHCP server on that interface's segment.
import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../store';
import { RedisLeaseStore, startDhcpFromEnv, type DhcpServer } from './dhcp';
import { ztpPlugin } from './ztp-http';
import { SHARED, sharedMetrics } from '../metrics/shared';
import { startKea, type KeaDhcpBackend } from './kea';

/** The ZTP route bound to the service's store: `await app.register(ztpRoutes(store))`. */
export function ztpRoutes(store: Store): FastifyPluginAsync {
  return async (app) => {
    await app.register(ztpPlugin, {
      leases: new RedisLeaseStore(store.redis),
      secrets: (f) => store.getFabricSecrets(f),
      device: async (f, serial) => {
        const d = (await store.listDevices(f)).find((x) => x.serial === serial);
        // roles count as decided once the device has a physical role (roles [] is then lean)
        return d && { name: d.name, profile: d.profile ?? undefined, model: d.model ?? undefined, physicalRole: d.physicalRole ?? undefined, roles: d.physicalRole ? d.roles : undefined };
      },
      onServed: (ev) => {
        sharedMetrics(store.redis).inc(SHARED.ztpBootstraps, { fabric: ev.fabric });
        app.log.info({ fabric: ev.fabric, serial: ev.serial, ip: ev.ip }, 'ztp bootstrap served');
      },
    });
  };
}

/** A DHCP server's message: a lease bound or refused is a milestone; the rest is protocol chatter. */
export const dhcpLogLevel = (m: string): 'info' | 'debug' => (/^dhcp: bound |\bdeclined\b|\bis exhausted\b|socket error/.test(m) ? 'info' : 'debug');

type DiscoveryLogger = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; debug?(obj: object, msg: string): void };
const dhcpLog = (l: DiscoveryLogger | undefined, fields: object) => (m: string) => {
  if (dhcpLogLevel(m) === 'info' || !l?.debug) l?.info(fields, m); else l.debug(fields, m);
};

export interface DiscoveryServices { dhcp?: DhcpServer; kea?: KeaDhcpBackend; stop(): Promise<void> }

/** Starts the DHCP server the configuration asks for (DHCP_INTERFACE, DHCP_BACKEND, ZTP_BASE_URL, PORT). */
export async function startDiscoveryServices(o: {
  store: Store;
  config: { dhcpInterface?: string; dhcpBackend?: 'builtin' | 'kea'; dataDir?: string; ztpBaseUrl?: string; port?: number };
  logger?: DiscoveryLogger;
}): Promise<DiscoveryServices> {
  if (!o.config.dhcpInterface) return { stop: async () => undefined };
  if (o.config.dhcpBackend === 'kea') {
    const kea = await startKea({
      store: o.store, interface: o.config.dhcpInterface, dataDir: o.config.dataDir ?? './data', ztpBaseUrl: o.config.ztpBaseUrl,
      // kea's messages are its own lifecycle (serving, exited, failed): all milestones.
      port: o.config.port ?? 8080, log: (m) => o.logger?.info({ component: 'dhcp', backend: 'kea' }, m),
    });
    o.logger?.info({ interface: o.config.dhcpInterface, backend: 'kea', pid: kea.pid() }, 'dhcp server (kea) listening');
    return { kea, stop: async () => { await kea.stop(); } };
  }
  const env: NodeJS.ProcessEnv = {
    DHCP_INTERFACE: o.config.dhcpInterface,
    ...(o.config.ztpBaseUrl ? { ZTP_BASE_URL: o.config.ztpBaseUrl } : {}),
    PORT: String(o.config.port ?? 8080),
  };
  const dhcp = await startDhcpFromEnv(o.store.redis, env, { log: dhcpLog(o.logger, { component: 'dhcp' }) });
  o.logger?.info({ interface: o.config.dhcpInterface, address: dhcp?.address() }, 'dhcp server listening');
  return { dhcp, stop: async () => { await dhcp?.stop(); } };
}
