// Drift (issue 7): each device's running config (read over NETCONF) against its intended config,
// as a unified diff. `GET /fabrics/{f}/drift` calls computeDrift; a BullMQ job scheduler
// (startDriftScheduler, every DRIFT_INTERVAL_SECONDS) checks every fabric and records a
// `device.drift` event per drifted device in the fabric's event history.
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Store } from '../store';
import { intendedConfig } from './plan-from-store';
import { comparableIntended, defaultPush, diffFiles, readRunning, type DevicePush } from './push';
import { factsFrom } from '../discovery/facts';
import { platformModule } from '../platforms';
import { sameVersion, targetVersion } from './upgrade/version';
import { drainFiles, isDrained } from './maintenance/drain';

/**
 * `drift`: the running config differs from the intended one. `versionDrift`: the fabric sets a
 * target version for the device's profile (settings.osVersions) and the version the device
 * reports now (read live, compared with normalizeVersion) differs from it.
 */
export interface DriftItem {
  device: string; drift: boolean; diff: string; error?: string;
  osVersion?: string; targetVersion?: string; versionDrift?: boolean;
}

/** Running vs intended per device (devices without a plan are left out; unreachable ones carry `error`). */
export async function computeDrift(
  store: Store, fabric: string,
  opts: { devices?: string[]; concurrency?: number; connectDevice?: DevicePush['connect'] } = {},
): Promise<DriftItem[]> {
  const connectDevice = opts.connectDevice ?? defaultPush.connect;
  const devices = (await store.listDevices(fabric)).filter((d) => !opts.devices || opts.devices.includes(d.name));
  const fab = await store.getFabric(fabric);
  const osVersions = fab?.settings.osVersions;
  // an adopted fabric that keeps its underlay: drift is what a push of the service's part would change
  const keepUnderlay = fab?.settings.brownfield?.manageUnderlay === false;
  const out: DriftItem[] = [];
  let next = 0;
  const one = async (name: string, managementIp: string | null, profile: string | null, state: string): Promise<DriftItem | undefined> => {
    if (state === 'rma') return undefined; // the dead box is not asked anything
    const stored = await intendedConfig(store, fabric, name).catch(() => null);
    if (!stored) return undefined;
    // A drained device (maintenance, upgrading) is meant to run its drain.
    const intended = isDrained(state) ? { ...stored, files: drainFiles(stored.platform, stored.files) } : stored;
    if (!managementIp) return { device: name, drift: false, diff: '', error: 'no management address' };
    try {
      const { client, platform } = await connectDevice(store, fabric, name);
      try {
        const running = await readRunning(client, name, platform);
        const mod = platformModule(platform);
        const files = keepUnderlay && mod.adoptedFiles ? mod.adoptedFiles(name, running, intended.files, intended.files) : intended.files;
        const diff = diffFiles(running, comparableIntended(name, intended.platform, files));
        const target = targetVersion(osVersions, profile);
        if (target === undefined) return { device: name, drift: diff !== '', diff };
        const reported = (await factsFrom(client)).osVersion;
        return { device: name, drift: diff !== '', diff, osVersion: reported, targetVersion: target, versionDrift: !sameVersion(reported, target) };
      } finally {
        await client.close().catch(() => undefined);
      }
    } catch (e) {
      return { device: name, drift: false, diff: '', error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  };
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++];
      const r = await one(d.name, d.managementIp, d.profile, d.managedState);
      if (r) out.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 20, Math.max(1, devices.length)) }, worker));
  // A check of the whole fabric is its current drift count (GET /metrics: fabric_drift_devices).
  if (!opts.devices) await store.redis.hset(DRIFT_COUNTS_KEY, fabric, String(out.filter((i) => i.drift).length));
  // What each device answered, so `autoconfigure {onlyChanged}` pushes a drifted device
  // although its intent did not change (one that could not be read keeps its last answer).
  await store.recordDrift(fabric, out.filter((i) => !i.error).map((i) => [i.device, i.drift]));
  return out.sort((a, b) => a.device.localeCompare(b.device));
}


const DRIFT_COUNTS_KEY = 'fz:metrics:drift';

/** Drifted devices per fabric, as the last whole-fabric check found them. */
export async function readDriftCounts(redis: Redis): Promise<Map<string, number>> {
  return new Map(Object.entries(await redis.hgetall(DRIFT_COUNTS_KEY)).map(([f, n]) => [f, Number(n)]));
}

/** Checks every fabric once and records drift events; returns the drifted devices per fabric. */
export async function recordDrift(store: Store, connectDevice?: DevicePush['connect']): Promise<Record<string, string[]>> {
  const res: Record<string, string[]> = {};
  for (const f of await store.listFabrics()) {
    const items = await computeDrift(store, f.name, { connectDevice });
    res[f.name] = items.filter((i) => i.drift).map((i) => i.device);
    for (const i of items.filter((x) => x.drift)) {
      await store.appendEvent(f.name, {
        actor: 'drift-check', action: 'device.drift', object: `device/${i.device}`,
        details: { diffLines: i.diff.split('\n').filter((l) => /^[+-][^+-]/.test(l)).length },
      });
    }
    for (const i of items.filter((x) => x.versionDrift)) {
      await store.appendEvent(f.name, {
        actor: 'drift-check', action: 'device.version-drift', object: `device/${i.device}`,
        details: { osVersion: i.osVersion, targetVersion: i.targetVersion },
      });
    }
  }
  return res;
}

export const DRIFT_QUEUE = 'drift-check';

/** DRIFT_INTERVAL_SECONDS: unset or 0 = off. */
export function driftIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.DRIFT_INTERVAL_SECONDS;
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`DRIFT_INTERVAL_SECONDS: expected a whole number of seconds, got "${v}"`);
  return n;
}

/** Starts the scheduled drift check (one scheduler id: many workers, one schedule). */
export async function startDriftScheduler(o: {
  connect: () => Redis; store: Store; intervalSeconds: number; onChecked?: (r: Record<string, string[]>) => void;
  /** BullMQ prefix (store's queuePrefix: hash-tagged on a cluster; default BullMQ's `bull`) */
  prefix?: string;
  /** how devices are reached (default: the service's push settings) */
  connectDevice?: DevicePush['connect'];
}): Promise<{ close(): Promise<void> }> {
  const qc = o.connect();
  const queue = new Queue(DRIFT_QUEUE, { connection: qc as unknown as ConnectionOptions, ...(o.prefix ? { prefix: o.prefix } : {}) });
  if (o.intervalSeconds <= 0) {
    // Off: drop a schedule an earlier start made; no worker at all.
    await queue.removeJobScheduler('drift');
    return { close: async () => { await queue.close().catch(() => undefined); qc.disconnect(); } };
  }
  const wc = o.connect();
  const worker = new Worker(DRIFT_QUEUE, async () => {
    const r = await recordDrift(o.store, o.connectDevice);
    o.onChecked?.(r);
    return r;
  }, { connection: wc as unknown as ConnectionOptions, concurrency: 1, ...(o.prefix ? { prefix: o.prefix } : {}) });
  await queue.upsertJobScheduler('drift', { every: o.intervalSeconds * 1000 }, { name: 'drift-check', opts: { removeOnComplete: 10, removeOnFail: 10 } });
  return {
    close: async () => {
      // Bounded: a worker whose blocking connection was reset by a Redis restart may not return.
      let t: NodeJS.Timeout | undefined;
      const late = await Promise.race([worker.close().then(() => false), new Promise<boolean>((r) => { t = setTimeout(() => r(true), 5000); })]);
      if (t) clearTimeout(t);
      if (late) await worker.close(true).catch(() => undefined);
      await queue.close().catch(() => undefined);
      for (const c of [qc, wc]) c.disconnect();
    },
  };
}
