// REDIS_URL forms the service connects to (docs/deploy.md):
//   redis://[[user]:password@]host:port[/db]    one Redis (rediss:// for TLS)
//   redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>[/db][?sentinelPassword=...]
//                                                the primary that Sentinel names; after a failover
//                                                ioredis asks the sentinels again and reconnects
//   redis+cluster://...                          refused with the reason (below)
import type { RedisOptions } from 'ioredis';

export class RedisUrlError extends Error {
  constructor(message: string) { super(message); this.name = 'RedisUrlError'; }
}

const hostPort = (s: string, defPort: number, url: string): { host: string; port: number } => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(s);
  const port = m?.[2] ? Number(m[2]) : defPort;
  if (!m || port < 1 || port > 65535) throw new RedisUrlError(`REDIS_URL: bad host:port "${s}" in ${redact(url)}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
};

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/**
 * What to hand ioredis for `url`: the URL itself (plain Redis) or options (Sentinel). A cluster
 * URL is refused: the store's transactions touch keys of many hash slots (a fabric's devices,
 * links and allocations in one MULTI or Lua script) and would fail with CROSSSLOT.
 */
export function redisTarget(url: string): { url: string } | { options: RedisOptions } {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  if (scheme === 'redis' || scheme === 'rediss') return { url };
  if (scheme === 'redis+cluster' || scheme === 'rediss+cluster') {
    throw new RedisUrlError('REDIS_URL: Redis Cluster is not supported: the store writes a fabric in one transaction across many hash slots; use one primary with Sentinel (redis+sentinel://host:26379,.../<master>) for failover');
  }
  if (scheme !== 'redis+sentinel' && scheme !== 'rediss+sentinel') {
    throw new RedisUrlError(`REDIS_URL: expected redis://, rediss:// or redis+sentinel://, got "${redact(url).slice(0, 100)}"`);
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const [pathPart, query = ''] = rest.slice(at + 1).split('?');
  const [hosts, master, db] = pathPart.split('/');
  if (!master) throw new RedisUrlError(`REDIS_URL: a Sentinel URL names the primary after the hosts (redis+sentinel://host:26379/<master>), got ${redact(url)}`);
  if (db !== undefined && db !== '' && !/^\d{1,2}$/.test(db)) throw new RedisUrlError(`REDIS_URL: database must be a number, got "${db}"`);
  const sentinels = hosts.split(',').filter(Boolean).map((h) => hostPort(h, 26379, url));
  if (sentinels.length === 0) throw new RedisUrlError(`REDIS_URL: no sentinel host in ${redact(url)}`);
  const colon = auth.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : '');
  const password = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth);
  const params = new URLSearchParams(query);
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  return {
    options: {
      sentinels,
      name: decodeURIComponent(master),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(db ? { db: Number(db) } : {}),
      ...(scheme === 'rediss+sentinel' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    },
  };
}
