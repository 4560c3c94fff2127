// Benchmark: autoconfigure (plan, render, NETCONF push: lock, edit-config, validate, diff, commit
// confirmed, confirm) of N simulator devices through the real queue + workers, then a second run
// that finds nothing changed. The simulator (src/lab/sim) serves NETCONF on 127.42.x.y; it runs
// no routing, so the verify step is off here (the twin test covers verification).
//   npx tsc -p . && node dist/bench/autoconfigure-sim.js [devices=500] [concurrency=50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { runSim } from '../src/lab/sim';
import { startLocalRedis, connectRedis } from '../src/store/redis-server';
import { Store } from '../src/store';
import { JobSystem, JobTypes, type JobView } from '../src/jobs';
import { autoconfigureJob } from '../src/jobs/autoconfigure';
import { createPush } from '../src/jobs/push';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 500);
  const concurrency = Number(process.argv[3] ?? 50);
  const spines = 4;
  const port = 38_830;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-acf-'));
  const server = await startLocalRedis({ dataDir: dir });
  const conns: Redis[] = [];
  const redis = connectRedis(server.url);
  const sim = await runSim({ spines, leaves: n - spines, cidr: '127.42.0.0/22', netconfPort: port, snmp: false, credentials: { username: 'admin', password: 'admin123' } });
  let jobs: JobSystem | undefined;
  try {
    const store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric({
      fabric: {
        name: 'bench', credentials: { username: 'admin', password: 'admin123' }, snmp: { community: 'fabric-ro' },
        namespaces: { management: [{ cidr: '127.42.0.0/22', gateway: '127.42.3.254' }], loopback: ['10.255.0.0/22'], fabric: ['10.254.0.0/19'], asn: [{ min: 64601, max: 65400 }], overlayAsn: 64512 },
      },
      devices: sim.devices.map((d) => ({
        name: d.name, serial: d.serial, profile: 'frr-switch', physicalRole: d.role,
        roles: d.role === 'spine' ? (d.name === 'spine1' || d.name === 'spine2' ? ['Route-Reflector'] : []) : ['CRB-Access'],
        managementIp: d.address,
      })),
      links: sim.links.map((k) => k.split('--')),
    });
    const { push } = createPush({ resolveEndpoint: ({ managementIp }) => ({ host: managementIp, port }), verify: false, confirmTimeoutSeconds: 120 });
    const types = new JobTypes().register(autoconfigureJob({ push }));
    jobs = new JobSystem({ connection: redis, connect: () => { const c = connectRedis(server.url); conns.push(c); return c; }, lockBackend: store, lockTtlMs: 60_000, types });
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency });
    const run = async (label: string): Promise<void> => {
      const t0 = Date.now();
      const id = await jobs!.submit('autoconfigure', 'bench', {});
      let v: JobView | undefined;
      for (let i = 0; i < 6000; i++) {
        v = await jobs!.get(id, { logLimit: 1 });
        if (v && ['succeeded', 'failed', 'cancelled'].includes(v.state)) break;
        await sleep(100);
      }
      const ms = Date.now() - t0;
      const outs = Object.values(v!.devices);
      const committed = outs.filter((o) => (o.result as { committed?: boolean } | undefined)?.committed).length;
      const pushMs = outs.map((o) => (o.result as { ms?: number } | undefined)?.ms ?? 0).sort((a, b) => a - b);
      const pct = (p: number) => pushMs[Math.min(pushMs.length - 1, Math.floor(p * pushMs.length))];
      console.log(`${label}: ${v!.state} in ${(ms / 1000).toFixed(1)} s; ${outs.length} devices, ${committed} committed, ${outs.filter((o) => o.state === 'failed').length} failed; per-device push p50 ${pct(0.5)} ms p95 ${pct(0.95)} ms max ${pushMs[pushMs.length - 1]} ms${v!.error ? `; error: ${v!.error.slice(0, 200)}` : ''}`);
    };
    console.log(`autoconfigure bench: ${n} sim devices (${spines} spines), device-job concurrency ${concurrency}, sim startup ${sim.startupMs} ms, load ${loadavg()[0].toFixed(2)}`);
    await run('first run (push everything)');
    await run('second run (nothing changed)');
  } finally {
    await jobs?.close();
    for (const c of conns) c.disconnect();
    redis.disconnect();
    await sim.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => { console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`); process.exit(1); });
