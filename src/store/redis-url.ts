// REDIS_URL forms the service connects to (docs/deploy.md):
//   redis://[[user]:password@]host:port[/db]    one Redis (rediss:// for TLS)
//   redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>[/db][?sentinelPassword=...]
//                                                the primary that Sentinel names; after a failover
//                                                ioredis asks the sentinels again and reconnects
//   redis+cluster://[[user]:password@]host:port[,host:port...][/]
//                                                a Redis Cluster (seed nodes; ioredis learns the
//                                                rest). Every key the service writes is put in one
//                                                hash slot, see CLUSTER_KEY_PREFIX below.
import type { ClusterNode, RedisOptions } from 'ioredis';

/**
 * On a cluster, every key the service itself writes gets this prefix (ioredis `keyPrefix`), and
 * BullMQ's queues use CLUSTER_QUEUE_PREFIX: both carry the hash tag `{fz}`, so every key lives in
 * one hash slot and every MULTI and Lua script of the store, the job records, the locks, the DHCP
 * leases and the queues stays valid (no CROSSSLOT). The cost: the service's data sits on one shard
 * (a cluster here is for failover, not for capacity; docs/deploy.md). Plain and Sentinel
 * deployments keep their key names (`fz:...`, `bull:...`), so their stores need no migration.
 */
export const CLUSTER_KEY_PREFIX = '{fz}:';
export const CLUSTER_QUEUE_PREFIX = '{fz}:bull';

export type RedisTarget =
  | { url: string }
  | { options: RedisOptions }
  | { cluster: { nodes: ClusterNode[]; options: RedisOptions } };

export const isClusterUrl = (url: string) => /^rediss?\+cluster:\/\//.test(url);

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
 * What to hand ioredis for `url`: the URL itself (plain Redis), options (Sentinel), or seed
 * nodes and per-node options (Cluster).
 */
export function redisTarget(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  if (scheme === 'redis' || scheme === 'rediss') return { url };
  const cluster = scheme === 'redis+cluster' || scheme === 'rediss+cluster';
  if (!cluster && scheme !== 'redis+sentinel' && scheme !== 'rediss+sentinel') {
    throw new RedisUrlError(`REDIS_URL: expected redis://, rediss://, redis+sentinel:// or redis+cluster://, got "${redact(url).slice(0, 100)}"`);
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const [pathPart, query = ''] = rest.slice(at + 1).split('?');
  const [hosts, master, db] = pathPart.split('/');
  const colon = auth.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : '');
  const password = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth);
  if (cluster) {
    // A cluster has one database (0) and no name: anything after the hosts is a mistake.
    if ((master ?? '') !== '' || db !== undefined || query !== '') throw new RedisUrlError(`REDIS_URL: a Cluster URL is only its seed nodes (redis+cluster://host:port,host:port/): no database, name or options, got ${redact(url)}`);
    const nodes = hosts.split(',').filter(Boolean).map((h) => hostPort(h, 6379, url));
    if (nodes.length === 0) throw new RedisUrlError(`REDIS_URL: no cluster node in ${redact(url)}`);
    return {
      cluster: {
        nodes,
        options: { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(scheme === 'rediss+cluster' ? { tls: {} } : {}) },
      },
    };
  }
  if (!master) throw new RedisUrlError(`REDIS_URL: a Sentinel URL names the primary after the hosts (redis+sentinel://host:26379/<master>), got ${redact(url)}`);
  if (db !== undefined && db !== '' && !/^\d{1,2}$/.test(db)) throw new RedisUrlError(`REDIS_URL: database must be a number, got "${db}"`);
  const sentinels = hosts.split(',').filter(Boolean).map((h) => hostPort(h, 26379, url));
  if (sentinels.length === 0) throw new RedisUrlError(`REDIS_URL: no sentinel host in ${redact(url)}`);
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
