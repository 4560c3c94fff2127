// A real Redis Cluster for tests: Debian's redis-server, `cluster-enabled yes`, 3 primaries and
// 3 replicas on fixed ports of 127.0.0.1 (the caller's range), joined by `redis-cli --cluster
// create`. stop() kills every server by its pid and removes the temp dir, also after a failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { connectRedis } from '../../src/store';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClusterNodeProc { port: number; proc: ChildProcess; pid: number }

export interface TestCluster {
  /** redis+cluster://:PASSWORD@127.0.0.1:p1,.../ */
  url: string;
  password: string;
  secretKey: Buffer;
  nodes: ClusterNodeProc[];
  /** A service connection (connectRedis: the `{fz}:` key prefix); closed by stop(). */
  client(): Redis;
  /** A plain connection to one node (no cluster routing, no prefix); closed by stop(). */
  node(port: number): Redis;
  /** The node that is primary for the hash slot of `key`, asked of a live node. */
  primaryOf(key: string): Promise<number>;
  /** Waits until every live node says cluster_state:ok and `key`'s slot has a primary other than `not`. */
  healthy(ms: number, o?: { key?: string; not?: number }): Promise<number | undefined>;
  stop(): Promise<void>;
}

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

export async function startTestCluster(o: { ports: number[]; replicas?: number; tag: string; nodeTimeoutMs?: number }): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), `${o.tag}-cluster-`));
  const password = randomBytes(16).toString('hex');
  const nodes: ClusterNodeProc[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const c of clients) c.disconnect();
    for (const n of nodes) if (!exited(n.proc)) n.proc.kill('SIGTERM');
    for (const n of nodes) {
      for (let i = 0; i < 100 && !exited(n.proc); i++) await sleep(50);
      if (!exited(n.proc)) n.proc.kill('SIGKILL');
      for (let i = 0; i < 100 && !exited(n.proc); i++) await sleep(50);
    }
    // A server still writing as the dir goes makes rmSync fail with ENOTEMPTY: once more.
    try { rmSync(dir, { recursive: true, force: true }); } catch { await sleep(500); rmSync(dir, { recursive: true, force: true }); }
  };
  const node = (port: number) => {
    const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  try {
    for (const port of o.ports) {
      const proc = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(o.nodeTimeoutMs ?? 2000),
        '--requirepass', password, '--masterauth', password, '--save', '', '--appendonly', 'no',
        '--logfile', path.join(dir, `${port}.log`),
      ], { stdio: 'ignore' });
      nodes.push({ port, proc, pid: proc.pid! });
    }
    for (const n of nodes) {
      const c = node(n.port);
      for (let i = 0; ; i++) {
        if (exited(n.proc)) throw new Error(`redis-server on ${n.port} exited (port taken?)`);
        if (await c.ping().then(() => true, () => false)) break;
        if (i > 100) throw new Error(`redis-server on ${n.port} did not answer`);
        await sleep(100);
      }
    }
    await run('redis-cli', ['-a', password, '--no-auth-warning', '--cluster', 'create', ...o.ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas', String(o.replicas ?? 1), '--cluster-yes'], { timeout: 60_000 });
  } catch (e) {
    await stop();
    throw e;
  }
  const live = () => nodes.filter((n) => !exited(n.proc));
  const byPort = new Map<number, Redis>();
  const conn = (port: number) => { let c = byPort.get(port); if (!c) byPort.set(port, (c = node(port))); return c; };
  const primaryOf = async (key: string): Promise<number> => {
    for (const n of live()) {
      try {
        const c = conn(n.port);
        const slot = await c.cluster('KEYSLOT', key) as number;
        const slots = await c.cluster('SLOTS');
        const hit = slots.find(([a, b]) => slot >= a && slot <= b);
        if (hit?.[2]) return hit[2][1];
      } catch { /* that node is down: ask the next */ }
    }
    throw new Error(`no live node knows the primary of ${key}`);
  };
  const t: TestCluster = {
    url: `redis+cluster://:${password}@${o.ports.slice(0, 3).map((p) => `127.0.0.1:${p}`).join(',')}/`,
    password, secretKey: randomBytes(32), nodes,
    client: () => { const c = connectRedis(t.url); clients.push(c); return c; },
    node,
    primaryOf,
    healthy: async (ms, h = {}) => {
      const end = Date.now() + ms;
      for (;;) {
        try {
          const states = await Promise.all(live().map(async (n) => /cluster_state:ok/.test(await conn(n.port).cluster('INFO') as string)));
          const p = h.key ? await primaryOf(h.key) : undefined;
          if (states.every(Boolean) && (h.not === undefined || p !== h.not)) return p;
        } catch { /* not yet */ }
        if (Date.now() > end) throw new Error(`cluster not healthy within ${ms} ms`);
        await sleep(100);
      }
    },
    stop,
  };
  try { await t.healthy(30_000); } catch (e) { await stop(); throw e; }
  return t;
}
