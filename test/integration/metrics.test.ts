// GET /metrics: a viewer token, the Node defaults, and the counts of jobs, device jobs, pushes,
// verify failures, drift, DHCP leases and ZTP bootstraps; and every metric the Grafana dashboard
// (docs/grafana/fabric.json) queries exists in a scrape.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startApi, example, ROOT, type ApiHarness } from '../helpers/api-harness';
import { RedisLeaseStore } from '../../src/discovery/dhcp';
import type { PushDeviceFn } from '../../src/jobs/autoconfigure';

jest.setTimeout(60_000);

/** The value of one sample line, e.g. `fabric_pushes_total{platform="frr",outcome="failed"}`. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('GET /metrics', () => {
  let h: ApiHarness;
  // A push that commits every device but leaf1, whose verify step fails (as a TransactionError does).
  const push: PushDeviceFn = async (ctx) => {
    if (ctx.device === 'leaf1') throw Object.assign(new Error('verify: 0 of 2 BGP sessions up'), { step: 'verify' });
    return { committed: true };
  };

  beforeAll(async () => {
    h = await startApi({ workers: true, push });
    expect((await h.call('POST', '/api/v1/fabrics', { body: example('dc1-frr') })).status).toBe(201);
  });
  afterAll(async () => { await h?.stop(); });

  test('needs a viewer token', async () => {
    expect((await h.call('GET', '/metrics', { role: 'none' })).status).toBe(401);
    const m = await h.call('GET', '/metrics', { role: 'viewer' });
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
  });

  test('counts jobs, device jobs, pushes and verify failures of the workers; drift, leases, bootstraps', async () => {
    const before = (await h.call('GET', '/metrics', { role: 'viewer' })).text;
    expect(sample(before, 'fabric_pushes_total{platform="frr",outcome="committed"}')).toBeUndefined();
    const res = await h.call('POST', '/api/v1/fabrics/dc1/autoconfigure', { role: 'operator', body: {} });
    expect(res.status).toBe(202);
    const job = await h.waitJob(res.json.jobId);
    expect(job.state).toBe('failed');
    const devices = Object.keys(job.devices).length;
    expect(devices).toBeGreaterThan(2);

    const leases = new RedisLeaseStore(h.redis);
    await leases.put({ fabric: 'dc1', ip: '10.0.0.50', subnet: '10.0.0.0/24', mac: '02:00:00:00:00:01', state: 'bound', expiresAt: Date.now() + 60_000 });
    await leases.put({ fabric: 'dc1', ip: '10.0.0.51', subnet: '10.0.0.0/24', mac: '02:00:00:00:00:02', state: 'offered', expiresAt: Date.now() + 60_000 });
    // What a whole-fabric drift check records (computeDrift needs devices that answer NETCONF).
    await h.redis.hset('fz:metrics:drift', 'dc1', '2', 'deleted-fabric', '7');
    // A device fetches its bootstrap with the one-time token its lease carried; a used token is refused and not counted.
    await leases.putToken({ token: '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', fabric: 'dc1', serial: 'SIM0101', ip: '10.0.0.50', mac: '02:00:00:00:00:01' }, 60_000);
    expect((await h.call('GET', '/ztp/SIM0101?t=0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', { role: 'none' })).status).toBe(200);
    expect((await h.call('GET', '/ztp/SIM0101?t=0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', { role: 'none' })).status).toBe(404);

    const m = (await h.call('GET', '/metrics', { role: 'viewer' })).text;
    expect(sample(m, 'fabric_pushes_total{platform="frr",outcome="committed"}')).toBe(devices - 1);
    expect(sample(m, 'fabric_pushes_total{platform="frr",outcome="failed"}')).toBe(1);
    expect(sample(m, 'fabric_verify_failures_total{platform="frr"}')).toBe(1);
    // Histograms are cumulative: +Inf equals the count, and the count equals the pushes.
    expect(sample(m, 'fabric_push_duration_seconds_bucket{platform="frr",outcome="committed",le="+Inf"}')).toBe(devices - 1);
    expect(sample(m, 'fabric_push_duration_seconds_count{platform="frr",outcome="committed"}')).toBe(devices - 1);
    expect(sample(m, 'fabric_push_duration_seconds_bucket{platform="frr",outcome="committed",le="0.005"}')).toBeLessThanOrEqual(devices - 1);
    expect(sample(m, 'fabric_jobs_finished_total{type="autoconfigure",state="failed"}')).toBe(1);
    expect(sample(m, 'fabric_job_duration_seconds_count{type="autoconfigure",state="failed"}')).toBe(1);
    expect(sample(m, 'fabric_device_jobs_total{type="autoconfigure",state="succeeded"}')).toBe(devices - 1);
    expect(sample(m, 'fabric_device_jobs_total{type="autoconfigure",state="failed"}')).toBe(1);
    expect(sample(m, 'fabric_drift_devices{fabric="dc1"}')).toBe(2);
    expect(m).not.toContain('fabric_drift_devices{fabric="deleted-fabric"}');
    expect(sample(m, 'fabric_dhcp_leases{fabric="dc1"}')).toBe(2);
    expect(sample(m, 'fabric_ztp_bootstraps_total{fabric="dc1"}')).toBe(1);
    expect(sample(m, 'fabric_queue_jobs{queue="device-ops",state="failed"}')).toBe(1);
    expect(m).toMatch(/^fabric_process_cpu_seconds_total \d/m);
    expect(m).toMatch(/^fabric_nodejs_eventloop_lag_p99_seconds \d/m);
  });

  test('every metric the Grafana dashboard queries is in a scrape', async () => {
    const dash = JSON.parse(readFileSync(path.join(ROOT, 'docs/grafana/fabric.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const queried = new Set(exprs.flatMap((e) => e.match(/\bfabric_[a-z0-9_]+/g) ?? []));
    const m = (await h.call('GET', '/metrics', { role: 'viewer' })).text;
    const exposed = new Set([...m.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name]));
    const missing = [...queried].filter((q) => !exposed.has(q));
    expect(missing).toEqual([]);
    // The dashboard covers what the issue asks for.
    for (const need of ['fabric_pushes_total', 'fabric_push_duration_seconds_bucket', 'fabric_verify_failures_total', 'fabric_drift_devices',
      'fabric_dhcp_leases', 'fabric_ztp_bootstraps_total', 'fabric_queue_jobs', 'fabric_job_duration_seconds_bucket', 'fabric_process_cpu_seconds_total']) {
      expect(queried).toContain(need);
    }
  });
});
