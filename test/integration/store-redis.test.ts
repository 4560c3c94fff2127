// The local redis-server launcher and the secret key file.
// The owner process below runs the COMPILED launcher (dist/src/store/redis-server.js): the CI
// runs `tsc` before jest; locally run `npx tsc -p .` first.
import { spawn, ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf } from '../helpers/env';
import { startLocalRedis, connectRedis, LocalRedis } from '../../src/store/redis-server';
import { loadSecretKey, encrypt, decrypt } from '../../src/store/secrets';

const LAUNCHER = join(__dirname, '../../dist/src/store/redis-server.js');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

describe('secret key', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'fz-key-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('key file created 0600 on first use, the same key afterwards', () => {
    const k1 = loadSecretKey({ dataDir: dir });
    expect(k1.length).toBe(32);
    const st = statSync(join(dir, 'secret.key'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(loadSecretKey({ dataDir: dir }).equals(k1)).toBe(true);
    chmodSync(join(dir, 'secret.key'), 0o644);
    expect(loadSecretKey({ dataDir: dir }).equals(k1)).toBe(true);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
  });

  test('FABRIC_SECRET_KEY wins; a wrong length is a clear error; GCM detects tampering', () => {
    const env = Buffer.alloc(32, 7).toString('base64');
    expect(loadSecretKey({ dataDir: dir, secretKey: env }).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(existsSync(join(dir, 'secret.key'))).toBe(false);
    expect(() => loadSecretKey({ dataDir: dir, secretKey: Buffer.alloc(16).toString('base64') }))
      .toThrow('FABRIC_SECRET_KEY: expected 32 bytes, base64-encoded (got 16 bytes)');
    const key = Buffer.alloc(32, 1);
    const blob = encrypt(key, 'pw', 'fabric:a');
    expect(decrypt(key, blob, 'fabric:a')).toBe('pw');
    expect(() => decrypt(key, blob, 'fabric:b')).toThrow(/authentication failed/);
    const raw = Buffer.from(blob.slice(3), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => decrypt(key, `v1:${raw.toString('base64')}`, 'fabric:a')).toThrow(/authentication failed/);
  });
});

describeIf({ commands: ['redis-server'] })('local redis-server', () => {
  let dir: string;
  const started: LocalRedis[] = [];
  const owners: ChildProcess[] = [];
  const pids: number[] = [];
  beforeAll(() => {
    if (!existsSync(LAUNCHER)) throw new Error(`${LAUNCHER} missing: run \`npx tsc -p .\` first (the CI does)`);
    dir = mkdtempSync(join(tmpdir(), 'fz-redis-launch-'));
  });
  afterAll(async () => {
    for (const r of started) await r.stop();
    for (const o of owners) if (o.exitCode === null && o.signalCode === null) o.kill('SIGKILL');
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('AOF on (everysec), loopback only, password required, files under <dataDir>/redis, stop() ends the process', async () => {
    const r = await startLocalRedis({ dataDir: dir });
    started.push(r);
    const pwFile = join(dir, 'redis', 'password');
    const pw = readFileSync(pwFile, 'utf8').trim();
    expect(pw).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(pwFile).mode & 0o777).toBe(0o600);
    expect(r.url).toBe(`redis://:${pw}@127.0.0.1:${r.port}`);
    // Not on the command line (any local user reads /proc/<pid>/cmdline).
    expect(readFileSync(`/proc/${r.pid}/cmdline`, 'utf8')).not.toContain(pw);
    // Another local process without the password is refused.
    const anon = connectRedis(`redis://127.0.0.1:${r.port}`, { maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      await expect(anon.get('k')).rejects.toThrow(/NOAUTH|Authentication required/);
    } finally { anon.disconnect(); }
    const c = connectRedis(r.url);
    try {
      expect(await c.config('GET', 'protected-mode')).toEqual(['protected-mode', 'yes']);
      expect(c.options.maxRetriesPerRequest).toBeNull();
      expect(await c.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await c.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await c.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(await c.config('GET', 'dir')).toEqual(['dir', join(dir, 'redis')]);
      await c.set('k', 'v');
    } finally { c.disconnect(); }
    expect(existsSync(join(dir, 'redis', 'appendonlydir'))).toBe(true);
    expect(readFileSync(join(dir, 'redis', 'redis.pid'), 'utf8').trim()).toBe(String(r.pid));
    await r.stop();
    expect(alive(r.pid)).toBe(false);
    expect(existsSync(join(dir, 'redis', 'redis.pid'))).toBe(false);
  });

  test('a live service owning the data dir is refused; its orphan (service SIGKILLed) is taken over, data kept', async () => {
    // Another node process (the "service") starts redis-server on the same data dir.
    const owner = spawn(process.execPath, ['-e',
      `require(${JSON.stringify(LAUNCHER)}).startLocalRedis({ dataDir: ${JSON.stringify(dir)} })` +
      '.then((r) => process.send({ pid: r.pid, port: r.port }), (e) => process.send({ error: e.message }));' +
      'setInterval(() => {}, 1000);',
    ], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    owners.push(owner);
    const info = await new Promise<{ pid: number; port: number; error?: string }>((resolve) => owner.once('message', resolve as never));
    expect(info.error).toBeUndefined();
    pids.push(info.pid);
    const e = await startLocalRedis({ dataDir: dir }).then(() => undefined, (err: Error) => err);
    expect(e?.message).toBe(`redis-server pid ${info.pid} (started by process ${owner.pid}) already serves ${join(dir, 'redis')}: stop that service, or set REDIS_URL to share it`);
    expect(alive(info.pid)).toBe(true);

    owner.kill('SIGKILL'); // the service dies; its redis-server lives on, re-parented
    await new Promise((r) => owner.once('exit', r));
    expect(alive(info.pid)).toBe(true);
    const r = await startLocalRedis({ dataDir: dir });
    started.push(r);
    expect(alive(info.pid)).toBe(false);
    expect(r.pid).not.toBe(info.pid);
    const c = connectRedis(r.url);
    try { expect(await c.get('k')).toBe('v'); } finally { c.disconnect(); }
  });
});
