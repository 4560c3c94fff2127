// REDIS_URL=redis+cluster://: a real Redis Cluster (Debian's redis-server, 3 primaries + 3 replicas
// on 127.0.0.1:7301-7306), the service (`dist/src/api/main.js`) started against it, two worker
// processes, and autoconfigure jobs on the NETCONF simulator. Every key the service writes is in
// the one hash slot of `{fz}` (redis-url.ts); then the primary of that slot is SIGKILLed, its
// replica takes over, and the next job runs on the promoted primary.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { Job } from 'bullmq';
import { describeIf } from '../helpers/env';
import { alive, ensureChaosBuilt, simPeer, startChaosFabric, until, ROOT, PLUGIN, type ChaosFabric } from '../helpers/chaos-fabric';
import { startTestCluster, type TestCluster } from '../helpers/redis-cluster';
import { childJobId } from '../../src/jobs/engine';
import { DEVICE_QUEUE } from '../../src/jobs/registry';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/store';
import { RedisLeaseStore } from '../../src/discovery/dhcp/leases';

jest.setTimeout(170_000);
const PORTS = [7301, 7302, 7303, 7304, 7305, 7306];
const TAG = '{fz}';

const refused = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(false); });
  s.once('error', () => resolve(true));
});

describeIf({ commands: ['redis-server', 'redis-cli'] })('Redis Cluster URL (real cluster, service + two worker processes)', () => {
  let c: TestCluster | undefined;
  let cf: ChaosFabric | undefined;
  let svc: ChildProcess | undefined;
  let out = '';
  let base = '';
  let token = '';
  const ids = ['cl-w1', 'cl-w2'];

  const api = async (method: string, url: string, body?: unknown) => {
    const r = await fetch(`${base}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(15_000),
    });
    return { status: r.status, body: await r.json().catch(() => undefined) as Record<string, unknown> };
  };
  /** autoconfigure through the service's API; its job record read back through the API */
  const autoconfigure = async (o: { stream?: (jobId: string) => Promise<void> } = {}) => {
    const sub = await until('autoconfigure accepted', async () => { const r = await api('POST', `/api/v1/fabrics/${cf!.F}/autoconfigure`, {}).catch(() => undefined); return r?.status === 202 ? r : undefined; }, 30_000, 250);
    const jobId = sub.body.jobId as string;
    await o.stream?.(jobId);
    const view = await until(`job ${jobId} final`, async () => {
      const r = await api('GET', `/api/v1/jobs/${jobId}`).catch(() => undefined);
      return r?.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(r.body.state as string) ? r.body : undefined;
    }, 90_000, 200);
    return { jobId, view };
  };

  beforeAll(async () => {
    ensureChaosBuilt();
    c = await startTestCluster({ ports: PORTS, tag: 'cl' });
    cf = await startChaosFabric({ tag: 'clc', peer: await simPeer({ leaves: 4 }), redis: c });
    // The service runs workers too: the same settings as the worker processes (the sim's port).
    const port = await freePort();
    svc = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/main.js')], {
      env: {
        ...process.env, REDIS_URL: c.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: cf.dir, FABRIC_JOB_PLUGINS: PLUGIN,
        FABRIC_SECRET_KEY: c.secretKey.toString('base64'), JOB_CONCURRENCY: '1', LOG_LEVEL: 'info', ...cf.peer.workerEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    svc.stdout!.on('data', (d) => { out = (out + d.toString()).slice(-20_000); });
    svc.stderr!.on('data', (d) => { out = (out + d.toString()).slice(-20_000); });
    await until('service listening', async () => {
      if (svc!.exitCode !== null) throw new Error(`service exited: ${out.slice(-2000)}`);
      return /fabric service listening/.test(out);
    }, 60_000, 100);
    base = `http://127.0.0.1:${port}`;
    token = readFileSync(path.join(cf.dir, 'admin-token'), 'utf8').trim();
    for (const id of ids) await cf.startWorker({ WORKER_ID: id, JOB_CONCURRENCY: '2' });
  });
  afterAll(async () => {
    if (svc && svc.exitCode === null && svc.signalCode === null) {
      svc.kill('SIGTERM');
      await until('service stop', async () => svc!.exitCode !== null || svc!.signalCode !== null, 15_000, 50).catch(() => svc!.kill('SIGKILL'));
    }
    if (cf) await cf.close(); // stops the cluster too (its `t`)
    else await c?.stop();
  });

  test('the service and two workers run an autoconfigure job on the cluster; every key sits in the {fz} slot', async () => {
    expect(loadConfig({ REDIS_URL: c!.url }).redisUrl).toBe(c!.url);
    // The service reads the fabric the test wrote through its own cluster connection.
    const fab = await api('GET', `/api/v1/fabrics/${cf!.F}`);
    expect(fab.status).toBe(200);
    expect(cf!.devices).toHaveLength(6);

    // The job's live stream (SSE): the API's subscriber listens on the cluster (PUBSUB is per
    // node: one of them counts it) and the stream ends when the job does.
    let events = '';
    let subscribers = 0;
    const stream = async (jobId: string) => {
      const r = await fetch(`${base}/api/v1/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(90_000) });
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      for (let i = 0; i < 100_000 && !/event: end/.test(events); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        events += Buffer.from(value).toString();
        if (!subscribers) {
          for (const n of c!.nodes) subscribers += Number(((await c!.node(n.port).call('PUBSUB', 'NUMSUB', 'jobs:changed')) as [string, number])[1]);
        }
      }
      await reader.cancel().catch(() => undefined);
    };
    const { jobId, view } = await autoconfigure({ stream });
    expect([view.state, view.error]).toEqual(['succeeded', undefined]);
    expect(Object.keys(view.devices as object).sort()).toEqual([...cf!.devices].sort());
    expect(events).toMatch(/^event: job/);
    expect(events).toMatch(/event: patch/);
    expect(events).toMatch(/event: end/);
    expect(subscribers).toBeGreaterThanOrEqual(1);
    const by = new Map<string, number>();
    for (const d of cf!.devices) {
      const child = await Job.fromId(cf!.jobs.queue(DEVICE_QUEUE), childJobId(jobId, d));
      expect(await child!.getState()).toBe('completed');
      by.set(child!.processedBy ?? '?', (by.get(child!.processedBy ?? '?') ?? 0) + 1);
    }
    process.stdout.write(`cluster: device jobs per worker ${JSON.stringify(Object.fromEntries(by))}\n`);
    // The two worker processes took part (the service's own worker may have taken one too).
    for (const id of ids) expect(by.get(id) ?? 0).toBeGreaterThan(0);

    // Every key on every primary carries the one hash tag: store, job records, locks, queues,
    // the API's rate-limit counters (a Redis error would let requests through unlimited), and
    // the job metrics the workers flush every second.
    const allKeys = async () => {
      const keys: string[] = [];
      for (const n of c!.nodes) {
        const r = c!.node(n.port);
        if ((await r.role())[0] !== 'master') continue;
        let cursor = '0';
        do { const [next, batch] = await r.scan(cursor, 'COUNT', 1000); keys.push(...batch); cursor = next; } while (cursor !== '0');
      }
      return keys;
    };
    const keys = await until('metrics flushed', async () => { const k = await allKeys(); return k.some((x) => x.startsWith('{fz}:fz:metrics:')) ? k : undefined; }, 15_000, 200);
    expect(keys.filter((k) => !k.startsWith(TAG))).toEqual([]);
    expect(keys).toContain(`{fz}:fz:f:${cf!.F}:devices`);
    expect(keys).toContain(`{fz}:job:${jobId}`);
    expect(keys.some((k) => k.startsWith('{fz}:fz:rl:'))).toBe(true);
    // SCAN on a cluster (store/schema.ts scanKeys): every primary, the key prefix added and stripped.
    const leases = new RedisLeaseStore(cf!.redis);
    await leases.decline(cf!.F, '10.9.9.9', 60_000);
    expect([...await leases.declined(cf!.F)]).toEqual(['10.9.9.9']);
    expect(keys.some((k) => k.startsWith('{fz}:bull:device-ops:'))).toBe(true);
  });

  test('the primary of the {fz} slot dies (SIGKILL), its replica takes over, and the next job runs', async () => {
    const primary = await c!.primaryOf(TAG);
    const node = c!.nodes.find((n) => n.port === primary)!;
    // The replica has everything written so far before the primary goes.
    expect(await c!.node(primary).call('WAIT', '1', '5000')).toBe(1);
    node.proc.kill('SIGKILL');
    await until('primary exit', async () => node.proc.signalCode !== null, 10_000, 20);
    expect(node.proc.signalCode).toBe('SIGKILL');
    expect(alive(node.pid)).toBe(false);
    expect(await refused(primary)).toBe(true);

    const promoted = await c!.healthy(60_000, { key: TAG, not: primary });
    expect(promoted).toBeDefined();
    expect(promoted).not.toBe(primary);
    process.stdout.write(`cluster: primary ${primary} killed, ${promoted} promoted\n`);

    const { view } = await autoconfigure();
    expect([view.state, view.error]).toEqual(['succeeded', undefined]);
    // The store written before the failover is there after it.
    expect((await cf!.store.listDevices(cf!.F)).map((d) => d.name).sort()).toEqual([...cf!.devices].sort());
    expect(cf!.liveWorkers()).toHaveLength(2);
    expect(svc!.exitCode).toBeNull();
  });
});
