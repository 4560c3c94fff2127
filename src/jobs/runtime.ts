// Wiring shared by `npm start` (API + workers) and `npm run worker` (workers only): the job
// system on a Redis, the job types this build knows, plugins named by FABRIC_JOB_PLUGINS.
import * as path from 'node:path';
import type { Redis } from 'ioredis';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import { connectRedis, type Store } from '../store';
import { registerAutoconfigure } from './autoconfigure';
import { registerRollback } from './rollback';
import { registerUpgrade } from './upgrade/job';
import { registerMaintenance } from './maintenance/job';
import { JobSystem } from './engine';
import { getJobType, registeredJobTypes } from './registry';

/** Modules of other areas that register a job type when loaded (absent ones are skipped). */
const OPTIONAL_TYPE_MODULES = ['../discovery/onboard-job', '../discovery/jobs'];

export function registerBuiltinJobTypes(config: ServiceConfig, logger: Logger): string[] {
  if (!getJobType('autoconfigure')) registerAutoconfigure();
  if (!getJobType('rollback')) registerRollback();
  if (!getJobType('upgrade')) registerUpgrade();
  if (!getJobType('maintenance')) registerMaintenance();
  for (const m of OPTIONAL_TYPE_MODULES) {
    try {
      const mod = require(m) as { registerJobTypes?: () => void }; // eslint-disable-line @typescript-eslint/no-require-imports
      mod.registerJobTypes?.();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(m.split('/').pop()!)) throw e;
    }
  }
  for (const p of config.jobPlugins) {
    const mod = require(path.resolve(p)) as { registerJobTypes?: () => void }; // eslint-disable-line @typescript-eslint/no-require-imports
    mod.registerJobTypes?.();
    logger.info({ plugin: p }, 'job plugin loaded');
  }
  return registeredJobTypes();
}

export function openJobSystem(opts: { redis: Redis; url: string; store: Store; config: ServiceConfig }): JobSystem {
  return new JobSystem({
    connection: opts.redis,
    connect: () => connectRedis(opts.url, { connectionName: 'fabric-worker' }),
    lockBackend: opts.store,
    lockTtlMs: opts.config.fabricLockTtlMs,
  });
}
