// Prometheus metrics (prom-client, a registry per app so tests can build many apps).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobSystem } from '../jobs/engine';
import type { Store } from '../store';

export interface Metrics {
  registry: Registry;
  apiLatency: Histogram<'method' | 'route' | 'status'>;
  jobsFinished: Counter<'type' | 'state'>;
  jobDuration: Histogram<'type' | 'state'>;
}

export function createMetrics(deps: { jobs: JobSystem; store: Store; defaults?: boolean }): Metrics {
  const registry = new Registry();
  if (deps.defaults) collectDefaultMetrics({ register: registry, prefix: 'fabric_' });
  const apiLatency = new Histogram({
    name: 'fabric_api_request_duration_seconds',
    help: 'API request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const jobsFinished = new Counter({
    name: 'fabric_jobs_finished_total',
    help: 'Jobs finished by this process, by type and final state',
    labelNames: ['type', 'state'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'fabric_job_duration_seconds',
    help: 'Duration of fabric jobs from submission to their final state',
    labelNames: ['type', 'state'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  new Gauge({
    name: 'fabric_queue_jobs',
    help: 'BullMQ jobs by queue and state (shared Redis: all workers)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await deps.jobs.counts();
      for (const [q, c] of Object.entries(counts)) for (const [s, n] of Object.entries(c)) this.set({ queue: q, state: s }, n);
    },
  });
  new Gauge({
    name: 'fabric_devices',
    help: 'Devices by fabric and managed state',
    labelNames: ['fabric', 'managed_state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const f of await deps.store.listFabrics()) {
        const counts: Record<string, number> = {};
        for (const d of await deps.store.listDevices(f.name)) counts[d.managedState] = (counts[d.managedState] ?? 0) + 1;
        for (const [s, n] of Object.entries(counts)) this.set({ fabric: f.name, managed_state: s }, n);
      }
    },
  });
  deps.jobs.events.onFinished = (e) => {
    jobsFinished.inc({ type: e.type, state: e.state });
    if (e.durationMs > 0) jobDuration.observe({ type: e.type, state: e.state }, e.durationMs / 1000);
  };
  return { registry, apiLatency, jobsFinished, jobDuration };
}
