// DHCP for onboarding: what the onboarding job registers, the release of leftover leases when
// it ends, and starting the server from the service's environment (DHCP_INTERFACE).
import { networkInterfaces } from 'node:os';
import { execFileSync } from 'node:child_process';
import type Redis from 'ioredis';
import type { FabricFile } from '../../domain/types';
import { DhcpServer, type DhcpServerOptions } from './server';
import { announceDhcpServer } from '../presence';
import { RedisLeaseStore, type ActiveFabric, type Lease, type LeaseStore } from './leases';

export * from './leases';
export { DhcpServer } from './server';
export type { DhcpServerOptions, LeaseEvent } from './server';

/** The registration an onboarding job makes: the fabric's management subnets, reservations from its device list. */
export function activeFabricFor(
  file: Pick<FabricFile, 'fabric' | 'devices'>,
  opts: { leaseSeconds?: number; jobId?: string; untilMs: number; rangeStart?: Record<string, string>; extraReservations?: ActiveFabric['reservations'] },
): ActiveFabric {
  return {
    fabric: file.fabric.name,
    subnets: file.fabric.namespaces.management.map((m) => ({ cidr: m.cidr, gateway: m.gateway, rangeStart: opts.rangeStart?.[m.cidr] })),
    reservations: [
      ...file.devices.filter((d) => d.serial && d.managementIp).map((d) => ({ serial: d.serial!, ip: d.managementIp! })),
      ...(opts.extraReservations ?? []),
    ],
    leaseSeconds: opts.leaseSeconds ?? 3600,
    jobId: opts.jobId,
    until: opts.untilMs,
  };
}

/**
 * When an onboarding job ends: leases of devices that were never onboarded are released,
 * so pools do not run dry with leases of boxes nobody manages (seen with ONIE).
 */
export async function releaseUnonboarded(store: LeaseStore, fabric: string, onboardedSerials: Iterable<string>): Promise<Lease[]> {
  const keep = new Set(onboardedSerials);
  const released: Lease[] = [];
  for (const l of await store.list(fabric)) {
    if (l.serial && keep.has(l.serial)) continue;
    await store.remove(fabric, l.ip);
    released.push(l);
  }
  return released;
}

/** The IPv4 address and prefix of an interface of this namespace. */
export function interfaceAddress(name: string): { address: string; prefix: number } {
  const addrs = networkInterfaces()[name];
  const v4 = addrs?.find((a) => a.family === 'IPv4');
  if (v4) return { address: v4.address, prefix: Number(v4.cidr!.split('/')[1]) };
  // Node lists only interfaces that are up with carrier (a bridge with no port up yet has none).
  try {
    const j = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8' })) as { addr_info: { local: string; prefixlen: number }[] }[];
    const a = j[0]?.addr_info?.[0];
    if (a) return { address: a.local, prefix: a.prefixlen };
  } catch { /* no such interface */ }
  throw new Error(`DHCP_INTERFACE ${name}: no such interface with an IPv4 address in this namespace`);
}

/**
 * Starts the DHCP server the environment asks for, or returns undefined when DHCP_INTERFACE is
 * unset. Adds the 255.255.255.255/32 route on the interface (a namespace with no route out
 * cannot broadcast without it).
 */
export async function startDhcpFromEnv(
  redis: Redis,
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<DhcpServerOptions> = {},
): Promise<DhcpServer | undefined> {
  const iface = env.DHCP_INTERFACE;
  if (!iface) return undefined;
  const { address, prefix } = interfaceAddress(iface);
  const port = env.PORT ?? '8080';
  try {
    execFileSync('ip', ['route', 'replace', '255.255.255.255/32', 'dev', iface], { stdio: 'ignore' });
  } catch { /* not root: broadcasts may fail; logged per reply */ }
  const server = new DhcpServer({
    store: new RedisLeaseStore(redis),
    serverAddress: address,
    serverPrefix: prefix,
    ztpBaseUrl: env.ZTP_BASE_URL ?? `http://${address}:${port}`,
    ...extra,
  });
  await server.start();
  // Onboarding jobs check this before they open DHCP for a fabric (src/discovery/presence.ts).
  const presence = announceDhcpServer(redis, { interface: iface, address, backend: 'builtin' });
  const stop = server.stop.bind(server);
  server.stop = async () => { await presence.stop(); await stop(); };
  return server;
}
