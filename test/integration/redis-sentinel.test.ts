// REDIS_URL=redis+sentinel://: a real redis-server in sentinel mode watching a real primary (with
// its password); the service's connection asks the sentinel for the primary, the store writes
// and reads through it, and a BullMQ job runs on it end to end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { describeIf } from '../helpers/env';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { connectRedis, freePort, redisReady, Store } from '../../src/store';
import { loadConfig } from '../../src/config';
import { example } from '../helpers/api-harness';

describeIf({ commands: ['redis-server'] })('Redis Sentinel URL (real sentinel)', () => {
  let t: TestRedis;
  let sentinel: ChildProcess | undefined;
  let dir = '';
  let url = '';

  beforeAll(async () => {
    t = await startTestRedis();
    const password = decodeURIComponent(/^redis:\/\/:([^@]*)@/.exec(t.url)![1]);
    dir = mkdtempSync(path.join(tmpdir(), 'ob-sentinel-'));
    const port = await freePort();
    const conf = path.join(dir, 'sentinel.conf');
    // Sentinel rewrites its config file: it lives in our temp dir.
    writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor obm 127.0.0.1 ${t.port} 1`, `sentinel auth-pass obm ${password}`, ''].join('\n'), { mode: 0o600 });
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    url = `redis+sentinel://:${encodeURIComponent(password)}@127.0.0.1:${port}/obm`;
  });
  afterAll(async () => {
    if (sentinel?.pid && sentinel.exitCode === null) {
      sentinel.kill('SIGTERM');
      await new Promise((r) => sentinel!.once('exit', r));
    }
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the store and a BullMQ job work through the primary the sentinel names', async () => {
    expect(loadConfig({ REDIS_URL: url }).redisUrl).toBe(url);
    const r = connectRedis(url, { connectionName: 'ob-sentinel-test' });
    const w = connectRedis(url);
    try {
      await redisReady(r, 20_000);
      // The primary we started sees our client by its name: the connection went there.
      const direct = t.client();
      expect(await direct.client('LIST')).toContain('name=ob-sentinel-test');

      const store = new Store(r, { secretKey: t.secretKey });
      const f = example('dc1-frr');
      f.fabric.name = 'obsent';
      await store.createFabric(f);
      expect((await store.listDevices('obsent')).length).toBe(f.devices.length);

      const q = new Queue('ob-sentinel', { connection: r as unknown as ConnectionOptions });
      let resolve!: (v: unknown) => void;
      const done = new Promise((res) => { resolve = res; });
      const worker = new Worker('ob-sentinel', async (job) => ({ echo: job.data.n }), { connection: w as unknown as ConnectionOptions });
      worker.on('completed', (_job, rv) => resolve(rv));
      await q.add('one', { n: 7 });
      expect(await done).toEqual({ echo: 7 });
      await worker.close();
      await q.close();
    } finally {
      r.disconnect();
      w.disconnect();
    }
  });
});
