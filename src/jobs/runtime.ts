// Wiring shared by `npm start` (API + workers) and `npm run worker` (workers only): the job
// system on a Redis, the job types this build knows (their dependencies passed in), plugins
// named by FABRIC_JOB_PLUGINS.
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import { connectQueueRedis, isClusterUrl, queuePrefix, type Store } from '../store';
import { onboardJob } from '../discovery/onboard';
import { autoconfigureJob } from './autoconfigure';
import { JobSystem } from './engine';
import { pushDeviceConfig } from './push';
import type { PushDeviceFn } from './push-context';
import { JobTypes } from './registry';
import { rollbackJob } from './rollback';
import { upgradeJob } from './upgrade/job';
import { maintenanceJob } from './maintenance/job';
import { removeDeviceJob } from './decommission/job';
import { rmaJob } from './rma/job';

/** A plugin module (FABRIC_JOB_PLUGINS) adds or replaces types in the registry it is given. */
export interface JobPlugin {
  registerJobTypes(types: JobTypes, opts: { push: PushDeviceFn }): void;
}

/**
 * The job types of this build, with their dependencies passed in: the NETCONF push (unless
 * FABRIC_PUSH=off), then the plugins named by FABRIC_JOB_PLUGINS (tests: barriers, relays).
 */
export function builtinJobTypes(config: ServiceConfig, logger: Logger, opts: { push?: PushDeviceFn } = {}): JobTypes {
  const push = opts.push ?? pushDeviceConfig;
  const types = new JobTypes()
    .register(autoconfigureJob({ push: config.push ? push : undefined }))
    .register(rollbackJob({ push }))
    .register(onboardJob)
    .register(upgradeJob())
    .register(maintenanceJob())
    .register(removeDeviceJob())
    .register(rmaJob());
  for (const p of config.jobPlugins) {
    const mod = require(path.resolve(p)) as Partial<JobPlugin>; // eslint-disable-line @typescript-eslint/no-require-imports
    if (typeof mod.registerJobTypes !== 'function') throw new Error(`FABRIC_JOB_PLUGINS: ${p} exports no registerJobTypes(types)`);
    mod.registerJobTypes(types, { push });
    logger.info({ plugin: p }, 'job plugin loaded');
  }
  return types;
}

export function openJobSystem(opts: { redis: Redis; url: string; store: Store; config: ServiceConfig; types: JobTypes }): JobSystem {
  return new JobSystem({
    types: opts.types,
    connection: opts.redis,
    // Plain Redis and Sentinel: the queues share the store's connection. A cluster: their own,
    // without the store's key prefix, and BullMQ's prefix carries the hash tag (redis-url.ts).
    ...(isClusterUrl(opts.url) ? { queueConnection: connectQueueRedis(opts.url, { connectionName: 'fabric-queues' }) } : {}),
    prefix: queuePrefix(opts.url),
    connect: () => connectQueueRedis(opts.url, { connectionName: 'fabric-worker' }),
    lockBackend: opts.store,
    lockTtlMs: opts.config.fabricLockTtlMs,
  });
}
