// Metrics that many processes add to (worker processes on several machines, the API process):
// kept in the Redis they all share, so one scrape of the API shows the totals of every worker,
// with no per-worker scrape target to discover. Each process buffers its increments and writes
// them once a second in one pipeline of HINCRBYFLOAT, so a device job costs no extra round trip;
// a process killed with SIGKILL loses at most its last second of counts.
import type { Redis } from 'ioredis';
import type { MetricObjectWithValues, MetricValueWithName, Registry } from 'prom-client';

export const METRICS_KEY_PREFIX = 'fz:metrics:';
const SEP = '\t';

export interface SharedMetricDef {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  labels: readonly string[];
  /** Upper bounds in seconds (histograms). */
  buckets?: readonly number[];
}

const JOB_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];
const DEVICE_BUCKETS = [0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Every metric kept in Redis: the API's collector reads these, the dashboard queries them. */
export const SHARED = {
  pushes: { name: 'fabric_pushes_total', help: 'Config pushes by platform and outcome (committed, unchanged, dry_run, failed, cancelled)', type: 'counter', labels: ['platform', 'outcome'] },
  pushDuration: { name: 'fabric_push_duration_seconds', help: 'Duration of a config push (connect, lock, load, commit confirmed, verify, confirm) by platform and outcome', type: 'histogram', labels: ['platform', 'outcome'], buckets: DEVICE_BUCKETS },
  verifyFailures: { name: 'fabric_verify_failures_total', help: 'Pushes whose verify step failed (rolled back by commit confirmed), by platform', type: 'counter', labels: ['platform'] },
  ztpBootstraps: { name: 'fabric_ztp_bootstraps_total', help: 'ZTP bootstrap scripts served to devices, by fabric', type: 'counter', labels: ['fabric'] },
  jobsFinished: { name: 'fabric_jobs_finished_total', help: 'Fabric jobs finished (all worker processes), by type and final state', type: 'counter', labels: ['type', 'state'] },
  jobDuration: { name: 'fabric_job_duration_seconds', help: 'Duration of fabric jobs from submission to their final state (all worker processes)', type: 'histogram', labels: ['type', 'state'], buckets: JOB_BUCKETS },
  deviceJobs: { name: 'fabric_device_jobs_total', help: 'Device jobs (one device of a fabric job) finished, by job type and state (all worker processes)', type: 'counter', labels: ['type', 'state'] },
  deviceJobDuration: { name: 'fabric_device_job_duration_seconds', help: 'Duration of one run of a device job, by job type and state (all worker processes)', type: 'histogram', labels: ['type', 'state'], buckets: DEVICE_BUCKETS },
} as const satisfies Record<string, SharedMetricDef>;

type Labels<D extends SharedMetricDef> = Record<D['labels'][number], string>;

const labelKey = (def: SharedMetricDef, labels: Record<string, string>) => JSON.stringify(def.labels.map((l) => labels[l] ?? ''));
const keyOf = (def: SharedMetricDef) => `${METRICS_KEY_PREFIX}${def.name}`;

const instances = new Set<SharedMetrics>();

/** One process's buffer of increments to the shared metrics, flushed to Redis every `flushMs`. */
export class SharedMetrics {
  private pending = new Map<string, Map<string, number>>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly redis: Redis, private readonly flushMs = 1000) {}

  get ready(): boolean { return this.redis.status === 'ready'; }
  get closed(): boolean { return this.redis.status === 'end'; }

  inc<D extends SharedMetricDef>(def: D, labels: Labels<D>, by = 1): void {
    this.add(keyOf(def), labelKey(def, labels), by);
  }

  /** One observation of a histogram: its bucket, sum and count. Buckets are stored un-cumulated. */
  observe<D extends SharedMetricDef>(def: D, labels: Labels<D>, value: number): void {
    const lk = labelKey(def, labels);
    const buckets = def.buckets ?? [];
    let i = buckets.findIndex((b) => value <= b);
    if (i < 0) i = buckets.length; // +Inf
    const k = keyOf(def);
    this.add(k, `${lk}${SEP}${i}`, 1);
    this.add(k, `${lk}${SEP}sum`, value);
    this.add(k, `${lk}${SEP}count`, 1);
  }

  private add(key: string, field: string, by: number): void {
    let m = this.pending.get(key);
    if (!m) this.pending.set(key, (m = new Map()));
    m.set(field, (m.get(field) ?? 0) + by);
    if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = undefined; void this.flush().catch(() => undefined); }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is buffered (one pipeline); on a Redis error the counts go back in the buffer. */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const p = this.redis.pipeline();
    for (const [key, fields] of batch) for (const [f, v] of fields) p.hincrbyfloat(key, f, v);
    try {
      const res = (await p.exec()) ?? [];
      if (res.some(([e]) => e)) throw res.find(([e]) => e)![0];
    } catch (e) {
      // HINCRBYFLOAT is not idempotent: a partly applied pipeline may count twice on retry;
      // a lost connection usually applied nothing. Counting again beats losing the counts.
      for (const [key, fields] of batch) for (const [f, v] of fields) this.add(key, f, v);
      throw e;
    }
  }
}

/** The process's buffer for `redis` (one per connection, so flushes reuse the caller's client). */
const byConnection = new WeakMap<Redis, SharedMetrics>();
export function sharedMetrics(redis: Redis): SharedMetrics {
  let m = byConnection.get(redis);
  if (!m) {
    m = new SharedMetrics(redis);
    byConnection.set(redis, m);
    instances.add(m);
  }
  return m;
}

/** Flushes every buffer of this process (before a scrape: this process's own counts show at once; at shutdown). */
export async function flushSharedMetrics(): Promise<void> {
  // Only connections that answer now: a scrape must not wait for a client that reconnects
  // (its timer flushes later) or one that was closed (its buffer is gone with it).
  for (const m of instances) if (m.closed) instances.delete(m);
  await Promise.all([...instances].filter((m) => m.ready).map((m) => m.flush().catch(() => undefined)));
}

/** Reads one shared metric from Redis into prom-client's shape. */
async function readMetric(redis: Redis, def: SharedMetricDef): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
  const raw = await redis.hgetall(keyOf(def));
  const toLabels = (lk: string): Record<string, string> => {
    const vals = JSON.parse(lk) as string[];
    return Object.fromEntries(def.labels.map((l, i) => [l, vals[i] ?? '']));
  };
  const values: MetricValueWithName<string>[] = [];
  if (def.type === 'counter') {
    for (const [lk, v] of Object.entries(raw)) values.push({ metricName: def.name, labels: toLabels(lk), value: Number(v) });
  } else {
    const series = new Map<string, Record<string, number>>();
    for (const [f, v] of Object.entries(raw)) {
      const at = f.lastIndexOf(SEP);
      const lk = f.slice(0, at);
      if (!series.has(lk)) series.set(lk, {});
      series.get(lk)![f.slice(at + 1)] = Number(v);
    }
    const buckets = def.buckets ?? [];
    for (const [lk, s] of series) {
      const labels = toLabels(lk);
      let cum = 0;
      for (let i = 0; i <= buckets.length; i++) {
        cum += s[String(i)] ?? 0;
        values.push({ metricName: `${def.name}_bucket`, labels: { ...labels, le: i < buckets.length ? String(buckets[i]) : '+Inf' }, value: cum });
      }
      values.push({ metricName: `${def.name}_sum`, labels, value: s.sum ?? 0 });
      values.push({ metricName: `${def.name}_count`, labels, value: s.count ?? 0 });
    }
  }
  return { name: def.name, help: def.help, type: def.type as never, aggregator: 'sum', values } as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
}

/** Registers every shared metric on `registry`, read from Redis at each scrape. */
export function registerSharedMetrics(registry: Registry, redis: Redis): void {
  for (const def of Object.values(SHARED) as SharedMetricDef[]) {
    registry.registerMetric({
      name: def.name,
      help: def.help,
      type: def.type,
      aggregator: 'sum',
      get: async () => {
        await flushSharedMetrics();
        return readMetric(redis, def);
      },
    } as never);
  }
}
