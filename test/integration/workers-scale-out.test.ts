// Scale-out: three worker processes (dist/workers/main.js, each with its own WORKER_ID) against
// one real Redis and the NETCONF simulator (2 spines + 6 leaves). One autoconfigure job's device
// jobs spread over them: BullMQ records which process ran each (`processedBy`), and the job metrics
// the API reads from Redis count every device job whichever process ran it.
import { Job } from 'bullmq';
import { describeIf } from '../helpers/env';
import { ensureChaosBuilt, simPeer, startChaosFabric, until, type ChaosFabric } from '../helpers/chaos-fabric';
import { childJobId } from '../../src/jobs/engine';
import { DEVICE_QUEUE } from '../../src/jobs/registry';
import { createMetrics } from '../../src/api/metrics';

jest.setTimeout(180_000);

describeIf({ commands: ['redis-server'] })('scale-out: device jobs of one fabric job spread over worker processes', () => {
  let cf: ChaosFabric;
  const ids = ['ob-w1', 'ob-w2', 'ob-w3'];

  beforeAll(async () => {
    ensureChaosBuilt();
    cf = await startChaosFabric({ tag: 'obso', peer: await simPeer({ leaves: 6 }) });
    // Two device jobs at once per process: 8 devices cannot all fit in one.
    for (const id of ids) await cf.startWorker({ WORKER_ID: id, JOB_CONCURRENCY: '2' });
  });
  afterAll(async () => { await cf?.close(); });

  test('every device job ran in one of the workers, more than one worker took part, and the metrics count them all', async () => {
    expect(cf.devices).toHaveLength(8);
    const pids = new Set(cf.liveWorkers().map((w) => w.pid));
    expect(pids.size).toBe(3);
    for (const w of cf.workers) expect(w.output()).toMatch(/fabric worker: ready .*, id ob-w\d/);

    const jobId = await cf.jobs.submit('autoconfigure', cf.F);
    const view = await cf.finished(jobId, 120_000);
    expect([view.state, view.error]).toEqual(['succeeded', undefined]);
    expect(Object.keys(view.devices).sort()).toEqual([...cf.devices].sort());

    const byWorker = new Map<string, string[]>();
    for (const d of cf.devices) {
      const child = await Job.fromId(cf.jobs.queue(DEVICE_QUEUE), childJobId(jobId, d));
      expect(child).toBeDefined();
      expect(await child!.getState()).toBe('completed');
      const by = child!.processedBy ?? 'unknown';
      byWorker.set(by, [...(byWorker.get(by) ?? []), d]);
    }
    const spread = Object.fromEntries([...byWorker].map(([w, ds]) => [w, ds.length]));
    process.stdout.write(`scale-out: device jobs per worker ${JSON.stringify(spread)}\n`);
    for (const w of byWorker.keys()) expect(ids).toContain(w);
    expect(byWorker.size).toBeGreaterThanOrEqual(2);
    // No single process ran them all.
    for (const ds of byWorker.values()) expect(ds.length).toBeLessThan(cf.devices.length);

    // The workers' counts reach the API's collector through Redis (each flushes within a second).
    const metrics = createMetrics({ jobs: cf.jobs, store: cf.store, defaults: false });
    const sample = async (series: string) => {
      const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    await until('device jobs counted', async () => (await sample('fabric_device_jobs_total{type="autoconfigure",state="succeeded"}')) === 8, 10_000, 100);
    // This process's JobSystem runs no worker: the three are the worker processes.
    expect(await sample('fabric_workers{queue="device-ops"}')).toBe(3);
    await until('job counted', async () => (await sample('fabric_jobs_finished_total{type="autoconfigure",state="succeeded"}')) === 1, 10_000, 100);
    expect(await sample('fabric_pushes_total{platform="frr",outcome="committed"}')).toBe(8);
  });
});
