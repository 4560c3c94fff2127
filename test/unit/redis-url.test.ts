// REDIS_URL forms: plain and TLS URLs pass through; Sentinel URLs become ioredis' sentinel
// options; a cluster URL and malformed ones are refused with a line that says why.
import { redisTarget, RedisUrlError } from '../../src/store/redis-url';
import { loadConfig } from '../../src/config';
import { connectRedis, redactRedisUrl } from '../../src/store/redis-server';

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

  test('refused: a cluster, no primary name, a bad port, another scheme', () => {
    expect(() => redisTarget('redis+cluster://h1:7000,h2:7001')).toThrow(/Redis Cluster is not supported: the store writes a fabric in one transaction/);
    expect(() => redisTarget('redis+sentinel://s1:26379')).toThrow(/names the primary/);
    expect(() => redisTarget('redis+sentinel://:secret@s1:99999/m')).toThrow(RedisUrlError);
    expect(() => redisTarget('redis+sentinel://:secret@s1:99999/m')).not.toThrow(/secret/);
    expect(() => redisTarget('memcached://h')).toThrow(/expected redis:\/\//);
  });

  test('loadConfig takes Sentinel URLs; connecting refuses a cluster before any socket; passwords are redacted', () => {
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379/m' }).redisUrl).toBe('redis+sentinel://:pw@s1:26379/m');
    expect(() => connectRedis('redis+cluster://h1:7000')).toThrow(/Redis Cluster is not supported/);
    expect(redactRedisUrl('redis+sentinel://u:pw@s1:26379/m')).toBe('redis+sentinel://u:***@s1:26379/m');
  });
});
