// Local redis-server launcher (Debian package) and the ioredis connection factory.
// Used by `npm start` when REDIS_URL is unset, and by the tests (test/helpers/redis.ts).
import { spawn, ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import Redis, { Cluster, type ClusterNode, RedisOptions } from 'ioredis';
import { CLUSTER_KEY_PREFIX, CLUSTER_QUEUE_PREFIX, isClusterUrl, redisTarget } from './redis-url';

export interface LocalRedis {
  url: string;
  port: number;
  pid: number;
  /** Directory holding the AOF and the log (`<dataDir>/redis`). */
  dir: string;
  /** Graceful stop (SIGTERM: Redis fsyncs the AOF and exits), SIGKILL after the timeout. */
  stop(timeoutMs?: number): Promise<void>;
  /** Hard kill (tests: simulates a crash; AOF everysec may lose the last second). */
  kill(): Promise<void>;
}

export interface StartLocalRedisOptions {
  dataDir: string;
  /** Fixed port (e.g. to restart on the same port); default: a free port on 127.0.0.1. */
  port?: number;
  /** Binary; default `redis-server` on PATH. */
  bin?: string;
  /** Start-up bound (PING must answer within it). Default 10 s. */
  timeoutMs?: number;
  /** requirepass; unset: read or make `<dataDir>/redis/password` (0600). `null`: no password (tests of that). */
  password?: string | null;
}

/** The password of a data dir's local Redis: kept in `<dir>/password` (0600), made on first use. */
export function localRedisPassword(dir: string): string {
  const file = join(dir, 'password');
  if (existsSync(file)) {
    const p = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{16,}$/.test(p)) return p;
  }
  const p = randomBytes(24).toString('base64url');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, p + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return p;
}

/** A Redis URL fit for a log line or an error: the password replaced. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?(?:\+sentinel|\+cluster)?:\/\/)([^@/]*)@/, (_m, scheme: string, cred: string) => `${scheme}${cred.includes(':') ? `${cred.slice(0, cred.indexOf(':'))}:***` : '***'}@`);
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it back, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One raw PING over TCP (AUTH first when there is a password; no client, no reconnect loop). */
function pingOnce(port: number, timeoutMs: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => { clearTimeout(t); sock.destroy(); resolve(ok); };
    const t = setTimeout(() => done(false), timeoutMs);
    const auth = password ? `*2\r\n$4\r\nAUTH\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n` : '';
    sock.on('connect', () => sock.write(`${auth}PING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\r\n');
      if (lines.length > (password ? 2 : 1)) done(lines[password ? 1 : 0].startsWith('+PONG') && (!password || lines[0] === '+OK'));
    });
    sock.on('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return undefined; }
}

/**
 * A redis-server on the same data dir: when its service is gone (SIGKILLed, the server was
 * re-parented away from a node process) stop it, since two servers on one AOF corrupt it; when
 * a live service still runs it, refuse to start.
 */
async function stopStale(pidFile: string, dir: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  let cmd = '';
  try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return; }
  if (!cmd.includes('redis-server')) return;
  const ppid = parentOf(pid);
  let parentComm = '';
  try { if (ppid && ppid > 1) parentComm = readFileSync(`/proc/${ppid}/comm`, 'utf8').trim(); } catch { /* gone */ }
  if (parentComm === 'node' && ppid !== process.pid) {
    throw new Error(`redis-server pid ${pid} (started by process ${ppid}) already serves ${dir}: stop that service, or set REDIS_URL to share it`);
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

/**
 * Starts Debian's redis-server on 127.0.0.1 with AOF on (appendfsync everysec), its files under
 * `<dataDir>/redis`, and resolves once PING answers. Bounded: rejects after `timeoutMs`.
 */
export async function startLocalRedis(opts: StartLocalRedisOptions): Promise<LocalRedis> {
  const dir = join(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, 'redis.pid');
  await stopStale(pidFile, dir);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // Bound to loopback, protected mode on and a password: no other local user reads or writes it.
  const password = opts.password === null ? undefined : opts.password ?? localRedisPassword(dir);
  // A free port can be taken between our probe and redis' bind: retry a few times with a new one.
  const attempts = opts.port ? 1 : 5;
  let lastErr: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const logFd = openSync(join(dir, 'redis.log'), 'a');
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--daemonize', 'no',
      '--dir', dir,
      '--pidfile', pidFile,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--logfile', '',
      '--unixsocket', '',
    ];
    // The password goes in on stdin as a config file, not on the command line (ps shows argv).
    if (password) args.unshift('-');
    const child = spawn(opts.bin ?? 'redis-server', args, { stdio: ['pipe', logFd, logFd], detached: false });
    child.stdin?.end(password ? `requirepass ${password}\n` : '');
    closeSync(logFd);
    let spawnErr: Error | undefined;
    child.on('error', (e) => { spawnErr = e; });
    const deadline = Date.now() + timeoutMs;
    let up = false;
    while (Date.now() < deadline) {
      if (spawnErr || child.exitCode !== null || child.signalCode !== null) break;
      if (await pingOnce(port, 500, password)) { up = true; break; }
      await sleep(50);
    }
    if (up && child.pid) {
      const pid = child.pid;
      const stop = async (t = 10_000) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        if (!(await waitExit(child, t))) { child.kill('SIGKILL'); await waitExit(child, 5_000); }
        try { if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(pid)) unlinkSync(pidFile); } catch { /* gone */ }
      };
      const kill = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await waitExit(child, 5_000);
      };
      const url = password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
      return { url, port, pid, dir, stop, kill };
    }
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await waitExit(child, 5_000); }
    let tail = '';
    try { tail = readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-3).join(' | '); } catch { /* none */ }
    lastErr = new Error(
      spawnErr ? `redis-server could not start: ${spawnErr.message}` :
        `redis-server on 127.0.0.1:${port} did not answer PING within ${timeoutMs} ms${tail ? `: ${tail}` : ''}`);
  }
  throw lastErr ?? new Error('redis-server could not start');
}

/**
 * ioredis client with the options BullMQ requires (`maxRetriesPerRequest: null`: commands wait
 * across reconnects instead of failing after 20 retries) and reconnection forever with capped backoff.
 */
export function connectRedis(url: string, extra: RedisOptions = {}): Redis {
  return newRedis(url, extra);
}

/**
 * A connection for BullMQ (queues, workers). The same as connectRedis except on a cluster, where
 * BullMQ refuses ioredis' keyPrefix and puts the hash tag in its own prefix (queuePrefix).
 */
export function connectQueueRedis(url: string, extra: RedisOptions = {}): Redis {
  return newRedis(url, extra, { queues: true });
}

/** BullMQ's key prefix for `url`: `bull` (BullMQ's default), `{fz}:bull` on a cluster. */
export const queuePrefix = (url: string): string => (isClusterUrl(url) ? CLUSTER_QUEUE_PREFIX : 'bull');

/**
 * The API's connection: a command fails within `commandTimeoutMs` and at once while Redis is
 * down (no offline queue), so a request answers 503 instead of hanging until Redis returns.
 */
export function connectApiRedis(url: string, commandTimeoutMs = 4000): Redis {
  return newRedis(url, { connectionName: 'fabric-api', maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, enableOfflineQueue: false });
}

/** Resolves once the connection is ready (bounded). */
export function redisReady(r: Redis, timeoutMs = 10_000): Promise<void> {
  if (r.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { r.off('ready', ok); reject(new Error(`redis not ready within ${timeoutMs} ms`)); }, timeoutMs);
    const ok = () => { clearTimeout(t); resolve(); };
    r.once('ready', ok);
  });
}

function newRedis(url: string, extra: RedisOptions, o: { queues?: boolean } = {}): Redis {
  const target = redisTarget(url);
  const opts: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // 50 ms, 100 ms, ... capped at 2 s; never gives up (a restarted Redis is picked up again).
    retryStrategy: (times) => Math.min(times * 50, 2_000),
    // After a failover/restart with READONLY errors, reconnect.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    connectionName: 'fabric',
    lazyConnect: false,
    ...extra,
  };
  const r = 'cluster' in target ? newCluster(target.cluster.nodes, { ...target.cluster.options, ...opts }, o.queues ? undefined : CLUSTER_KEY_PREFIX)
    : 'url' in target ? new Redis(target.url, opts) : new Redis({ ...target.options, ...opts });
  // Connection errors surface through the commands that fail; without a listener ioredis
  // prints "Unhandled error event" for every reconnect attempt.
  r.on('error', () => undefined);
  return r;
}

/**
 * ioredis Cluster, typed as Redis: it has the same commands, MULTI and EVAL (every key in one slot,
 * see CLUSTER_KEY_PREFIX), pub/sub and duplicate(); the rest of the service need not know. What
 * differs (SCAN runs per node) is handled where keys are scanned (schema.ts scanKeys).
 */
function newCluster(nodes: ClusterNode[], node: RedisOptions, keyPrefix: string | undefined): Redis {
  const { enableOfflineQueue, ...redisOptions } = node;
  const c = new Cluster(nodes, {
    redisOptions,
    ...(keyPrefix ? { keyPrefix } : {}),
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: (times) => Math.min(times * 50, 2_000),
    // A failover takes a few seconds (cluster-node-timeout plus the election): commands that hit
    // the dead primary or CLUSTERDOWN retry for about 20 s before they fail.
    maxRedirections: 100,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
  });
  return c as unknown as Redis;
}
