// Benchmark: the real rolling-upgrade job (src/jobs/upgrade) over N simulator devices (issue 15:
// 500 devices, maxParallel 20). The sim (src/lab/sim) answers install-software (install time,
// then a reboot: NETCONF gone, BGP sessions down at its peers, back with the new version) and
// reports BGP sessions and routes derived from the pushed configs, so the prechecks, the drain /
// re-push / undrain pushes with verify on, and the postchecks run as on devices.
// Setup (not timed): the fabric (4 spines, the rest leaves, a dual-homed server per leaf pair),
// an autoconfigure without verify. Timed: the plan (store read + planner, best of 3) and the
// whole upgrade job, submit to final state.
//   npx tsc -p . && node dist/bench/upgrade-sim.js [devices=500] [maxParallel=20] [installMs=1000] [rebootMs=3000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { runSim } from '../src/lab/sim';
import { simFabricInput } from '../src/lab/sim/fabric';
import { startLocalRedis, connectRedis } from '../src/store/redis-server';
import { Store } from '../src/store';
import { imageStoreAt } from '../src/store/images';
import { JobSystem, JobTypes, type JobView } from '../src/jobs';
import { autoconfigureJob } from '../src/jobs/autoconfigure';
import { upgradeJob, configureUpgrade } from '../src/jobs/upgrade/job';
import { planFromStoreFor } from '../src/jobs/upgrade/inputs';
import { createPush } from '../src/jobs/push';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CIDR = '127.62.0.0/22';
const PORT = 38_862;
const CREDS = { username: 'admin', password: 'admin123' };

async function waitJob(jobs: JobSystem, id: string, ms: number): Promise<JobView> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await jobs.get(id, { logLimit: 1 });
    if (v && ['succeeded', 'failed', 'cancelled'].includes(v.state)) return v;
    await sleep(500);
  }
  throw new Error(`job ${id} did not finish in ${ms / 1000} s`);
}

async function main(): Promise<void> {
  const [n, maxParallel, installMs, rebootMs] = [500, 20, 1000, 3000].map((d, i) => Number(process.argv[2 + i] ?? d));
  const spines = 4;
  const dir = mkdtempSync(path.join(tmpdir(), 'dy-bench-upg-'));
  const server = await startLocalRedis({ dataDir: dir });
  const conns: Redis[] = [];
  const redis = connectRedis(server.url);
  const sim = await runSim({ spines, leaves: n - spines, cidr: CIDR, netconfPort: PORT, snmp: false, credentials: CREDS, install: { installMs, rebootMs } });
  let jobs: JobSystem | undefined;
  try {
    const store = new Store(redis, { secretKey: randomBytes(32) });
    await store.createFabric(simFabricInput('bench', sim.devices, sim.links, { cidr: CIDR, credentials: CREDS, dualHomedServers: true }) as never);
    for (const d of sim.devices) await store.updateDevice('bench', d.name, { managedState: 'active' });
    const endpoint = ({ managementIp }: { managementIp: string }) => ({ host: managementIp, port: PORT });
    const setupPush = createPush({ resolveEndpoint: endpoint, verify: false });
    const push = createPush({ resolveEndpoint: endpoint, verifyTimeoutMs: 120_000, verifyPollMs: 500, rpcTimeoutMs: 60_000 });
    configureUpgrade({ pollMs: 500, rebootTimeoutMs: 300_000, postcheckTimeoutMs: 300_000 });
    const types = new JobTypes().register(autoconfigureJob({ push: setupPush.push })).register(upgradeJob({ device: push }));
    jobs = new JobSystem({ connection: redis, connect: () => { const c = connectRedis(server.url); conns.push(c); return c; }, lockBackend: store, lockTtlMs: 60_000, types });
    // maxParallel running, as many again waiting at the batch gate.
    await jobs.startWorkers({ redis, config: loadConfig({ DATA_DIR: dir }), logger: createLogger({ level: 'silent' }), store }, { concurrency: Math.max(50, 2 * maxParallel) });
    console.log(`upgrade bench: ${n} sim devices (${spines} spines, ${Math.floor((n - spines) / 2)} dual-homed servers), maxParallel ${maxParallel}, install ${installMs} ms, reboot ${rebootMs} ms; sim startup ${sim.startupMs} ms; node ${process.version}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    let t0 = Date.now();
    const ac = await waitJob(jobs, await jobs.submit('autoconfigure', 'bench', {}), 1_800_000);
    if (ac.state !== 'succeeded') throw new Error(`setup autoconfigure: ${ac.error}`);
    console.log(`setup: autoconfigure (verify off) ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const img = path.join(dir, 'frr-9.1.0.bin');
    writeFileSync(img, randomBytes(4096));
    const image = await imageStoreAt(store, dir).create({ name: 'frr-9.1.0', platform: 'frr', version: '9.1.0', path: img });
    let planMs = Infinity;
    let plan = await planFromStoreFor(store, 'bench', image, { maxParallel });
    for (let i = 0; i < 3; i++) {
      const p0 = process.hrtime.bigint();
      plan = await planFromStoreFor(store, 'bench', image, { maxParallel });
      planMs = Math.min(planMs, Number(process.hrtime.bigint() - p0) / 1e6);
    }
    const sizes = plan.batches.map((b) => b.devices.length);
    console.log(`plan (store read + planner, best of 3): ${planMs.toFixed(1)} ms; ${plan.batches.length} batches, largest ${Math.max(...sizes)}, ${plan.skipped.length} skipped`);

    const loadBefore = loadavg()[0];
    t0 = Date.now();
    const id = await jobs.submit('upgrade', 'bench', { image: image.name, maxParallel, imageUrl: `http://127.62.3.254:8080/images/${image.name}/${image.sha256}` });
    const v = await waitJob(jobs, id, 4 * 3_600_000);
    const totalMs = Date.now() - t0;
    const res = v.result as { upgraded?: string[]; failed?: unknown[] } | undefined;
    const onNew = sim.devices.filter((d) => sim.netconf!.status(d.name)?.version === '9.1.0').length;
    console.log(JSON.stringify({
      devices: n, maxParallel, state: v.state, planMs: Number(planMs.toFixed(1)), batches: plan.batches.length, totalS: Number((totalMs / 1000).toFixed(1)),
      perBatchS: Number((totalMs / 1000 / plan.batches.length).toFixed(1)), upgraded: res?.upgraded?.length ?? 0, failed: res?.failed?.length ?? 0, simOnNewVersion: onNew,
      load1Before: Number(loadBefore.toFixed(2)), load1After: Number(loadavg()[0].toFixed(2)), ...(v.error ? { error: v.error.slice(0, 300) } : {}),
    }));
    if (v.state !== 'succeeded') process.exitCode = 1;
  } finally {
    configureUpgrade(undefined);
    await jobs?.close();
    for (const c of conns) c.disconnect();
    redis.disconnect();
    await sim.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(process.exitCode ?? 0), (e) => { console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`); process.exit(1); });
