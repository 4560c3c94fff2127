// REDIS_URL forms: plain and TLS URLs pass through; Sentinel URLs become ioredis' sentinel
// options; Cluster URLs become seed nodes (every key of the service under the {fz} hash tag);
// malformed ones are refused with a line that says why.
import { CLUSTER_KEY_PREFIX, CLUSTER_QUEUE_PREFIX, isClusterUrl, redisTarget, RedisUrlError } from '../../src/store/redis-url';
import { loadConfig } from '../../src/config';
import { connectRedis, queuePrefix, redactRedisUrl } from '../../src/store/redis-server';

describe('redisTarget', () => {
  test('plain and TLS URLs go to ioredis as they are', () => {
    expect(redisTarget('redis://:pw@127.0.0.1:6379/2')).toEqual({ url: 'redis://:pw@127.0.0.1:6379/2' });
    expect(redisTarget('rediss://h:6380')).toEqual({ url: 'rediss://h:6380' });
  });

  test('a Sentinel URL: every sentinel, the primary\'s name, credentials, db, sentinel password', () => {
    expect(redisTarget('redis+sentinel://fabric:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/fabric-primary/3?sentinelPassword=sp')).toEqual({
      options: {
        sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }],
        name: 'fabric-primary', username: 'fabric', password: 'p@ss', sentinelPassword: 'sp', db: 3,
      },
    });
    expect(redisTarget('redis+sentinel://:pw@s1/m')).toEqual({ options: { sentinels: [{ host: 's1', port: 26379 }], name: 'm', password: 'pw' } });
  });

  test('a Cluster URL: its seed nodes (default port 6379) and credentials; TLS with rediss+cluster', () => {
    expect(redisTarget('redis+cluster://:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002/')).toEqual({
      cluster: { nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }, { host: '::1', port: 7002 }], options: { password: 'p@ss' } },
    });
    expect(redisTarget('rediss+cluster://u:pw@h1:7000')).toEqual({ cluster: { nodes: [{ host: 'h1', port: 7000 }], options: { username: 'u', password: 'pw', tls: {} } } });
    expect(isClusterUrl('redis+cluster://h1:7000')).toBe(true);
    expect(isClusterUrl('redis+sentinel://h1/m')).toBe(false);
    // One hash tag for the service's keys and BullMQ's: one slot, so no MULTI or script spans two.
    expect(/\{(.+?)\}/.exec(CLUSTER_KEY_PREFIX)?.[1]).toBe('fz');
    expect(/\{(.+?)\}/.exec(CLUSTER_QUEUE_PREFIX)?.[1]).toBe('fz');
    expect(queuePrefix('redis+cluster://h1:7000')).toBe(CLUSTER_QUEUE_PREFIX);
    // Plain and Sentinel deployments keep BullMQ's default names (no migration of their keys).
    expect(queuePrefix('redis://h1:6379')).toBe('bull');
    expect(queuePrefix('redis+sentinel://h1/m')).toBe('bull');
  });

  test('refused: a cluster URL with a database or a name, no primary name, a bad port, another scheme', () => {
    expect(() => redisTarget('redis+cluster://h1:7000/2')).toThrow(/only its seed nodes/);
    expect(() => redisTarget('redis+cluster://:secret@h1:7000/m?x=1')).not.toThrow(/secret/);
    expect(() => redisTarget('redis+cluster:///')).toThrow(/no cluster node/);
    expect(() => redisTarget('redis+sentinel://s1:26379')).toThrow(/names the primary/);
    expect(() => redisTarget('redis+sentinel://:secret@s1:99999/m')).toThrow(RedisUrlError);
    expect(() => redisTarget('redis+sentinel://:secret@s1:99999/m')).not.toThrow(/secret/);
    expect(() => redisTarget('memcached://h')).toThrow(/expected redis:\/\//);
  });

  test('loadConfig takes Sentinel and Cluster URLs; connecting refuses a bad one before any socket; passwords are redacted', () => {
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379/m' }).redisUrl).toBe('redis+sentinel://:pw@s1:26379/m');
    expect(loadConfig({ REDIS_URL: 'redis+cluster://:pw@h1:7000,h2:7001/' }).redisUrl).toBe('redis+cluster://:pw@h1:7000,h2:7001/');
    expect(() => connectRedis('redis+cluster://h1:7000/3')).toThrow(/only its seed nodes/);
    expect(redactRedisUrl('redis+cluster://:pw@h1:7000/')).toBe('redis+cluster://:***@h1:7000/');
    expect(redactRedisUrl('redis+sentinel://u:pw@s1:26379/m')).toBe('redis+sentinel://u:***@s1:26379/m');
  });
});
