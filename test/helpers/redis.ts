// A real redis-server for tests: fresh temp data dir, random free port, AOF on; stopped by pid
// and its directory removed in cleanup. Use with describeIf({commands: ['redis-server']}).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { startLocalRedis, connectRedis, LocalRedis } from '../../src/store/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  /** A 32-byte key for Stores in this test. */
  secretKey: Buffer;
  /** New ioredis client (closed by stop()). */
  client(): Redis;
  /** Graceful stop + start again on the same port and data dir (AOF keeps the data). */
  restart(opts?: { downMs?: number; hard?: boolean }): Promise<void>;
  /** Stops the server, closes the clients, removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The running server (changes after restart). */
  server(): LocalRedis;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fz-redis-'));
  let server = await startLocalRedis({ dataDir });
  const clients: Redis[] = [];
  let stopped = false;
  const t: TestRedis = {
    url: server.url,
    port: server.port,
    get pid() { return server.pid; },
    dataDir,
    secretKey: randomBytes(32),
    client() {
      const c = connectRedis(server.url, { connectionName: 'test' });
      clients.push(c);
      return c;
    },
    async restart(opts = {}) {
      if (opts.hard) await server.kill(); else await server.stop();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      server = await startLocalRedis({ dataDir, port: t.port });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.disconnect();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    server: () => server,
  };
  return t;
}

/** Every key matching `pattern` with its full content, canonical (for before/after comparisons). */
export async function dumpKeys(r: Redis, pattern: string): Promise<Record<string, unknown>> {
  const keys = (await r.keys(pattern)).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const t = await r.type(k);
    if (t === 'string') out[k] = await r.get(k);
    else if (t === 'hash') out[k] = Object.fromEntries(Object.entries(await r.hgetall(k)).sort());
    else if (t === 'set') out[k] = (await r.smembers(k)).sort();
    else if (t === 'list') out[k] = await r.lrange(k, 0, -1);
    else if (t === 'zset') out[k] = await r.zrange(k, 0, -1, 'WITHSCORES');
    else if (t === 'stream') out[k] = await r.xrange(k, '-', '+');
    else out[k] = `<${t}>`;
  }
  return out;
}
