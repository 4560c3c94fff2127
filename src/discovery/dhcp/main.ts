// Standalone DHCP server (the API process embeds the same thing): DHCP_INTERFACE, REDIS_URL
// (a redis:// URL or a unix socket path), ZTP_BASE_URL; DHCP_OFFER_MS (how long an offer
// holds its address, default 30 s) and DHCP_REGISTRY_CACHE_MS for tests. Prints "dhcp ready
// <interface>" once bound, its packet counts on SIGUSR2 ("dhcp stats {...}") and when it
// stops (SIGTERM, SIGINT: "dhcp stopped {...}").
import Redis from 'ioredis';
import { connectRedis } from '../../store';
import { startDhcpFromEnv } from './index';

const num = (v: string | undefined, dflt: number): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt);

async function main(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // connectRedis: the same URL forms as the service (Sentinel, Cluster with its key prefix).
  const redis = url.startsWith('/') ? new Redis({ path: url }) : connectRedis(url);
  const log = (m: string): void => { process.stdout.write(`${new Date().toISOString()} ${m}\n`); };
  const server = await startDhcpFromEnv(redis, process.env, {
    log, registryCacheMs: num(process.env.DHCP_REGISTRY_CACHE_MS, 1000), offerMs: num(process.env.DHCP_OFFER_MS, 30_000),
  });
  if (!server) throw new Error('DHCP_INTERFACE is not set');
  log(`dhcp ready ${process.env.DHCP_INTERFACE}`);
  const stop = async (): Promise<void> => {
    await server.stop();
    log(`dhcp stopped ${JSON.stringify(server.stats)}`);
    redis.disconnect();
    process.exit(0);
  };
  process.on('SIGUSR2', () => log(`dhcp stats ${JSON.stringify(server.stats)}`));
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: Error) => { process.stderr.write(`dhcp: ${e.message}\n`); process.exit(1); });
