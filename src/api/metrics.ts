// Prometheus metrics (prom-client, a registry per app so tests can build many apps): this
// process's own (API latency, Node and process defaults), Redis-held counts every worker process
// adds to (jobs, device jobs, pushes, verify failures, ZTP bootstraps), and gauges read at each
// scrape (queue depth, devices, drift, DHCP leases).
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerSharedMetrics } from '../metrics/shared';
import { readDriftCounts } from '../jobs/drift';
import { RedisLeaseStore } from '../discovery/dhcp';
import type { JobSystem } from '../jobs/engine';
import { QUEUE_NAMES } from '../jobs/registry';
import type { Store } from '../store';

export interface Metrics {
  registry: Registry;
  apiLatency: Histogram<'method' | 'route' | 'status'>;
}

export function createMetrics(deps: { jobs: JobSystem; store: Store; defaults?: boolean }): Metrics {
  const registry = new Registry();
  if (deps.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'fabric_' });
  const apiLatency = new Histogram({
    name: 'fabric_api_request_duration_seconds',
    help: 'API request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Counts that worker processes add to live in Redis (src/metrics/shared.ts): read at each scrape.
  registerSharedMetrics(registry, deps.store.redis);
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
  new Gauge({
    name: 'fabric_workers',
    help: 'Worker processes serving each queue now (BullMQ workers connected to the shared Redis, every machine)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of QUEUE_NAMES) this.set({ queue: q }, await deps.jobs.queue(q).getWorkersCount());
    },
  });
  new Gauge({
    name: 'fabric_drift_devices',
    help: 'Devices whose running config differs from the intended one, by fabric (last drift check)',
    labelNames: ['fabric'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const last = await readDriftCounts(deps.store.redis);
      // Only fabrics that still exist (a deleted fabric's last count is not a current one).
      for (const f of await deps.store.listFabrics()) if (last.has(f.name)) this.set({ fabric: f.name }, last.get(f.name)!);
    },
  });
  new Gauge({
    name: 'fabric_dhcp_leases',
    help: 'Active DHCP leases of the ZTP DHCP server (built-in, or Kea as read back each second), by fabric',
    labelNames: ['fabric'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const leases = new RedisLeaseStore(deps.store.redis);
      for (const f of await deps.store.listFabrics()) this.set({ fabric: f.name }, (await leases.list(f.name)).length);
    },
  });
  return { registry, apiLatency };
}
