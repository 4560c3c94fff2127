// `npm run worker`: workers only, on REDIS_URL, so more processes on more machines share one
// Redis. They call the same functions the CLI and the API call.
import { hostname } from 'node:os';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { openStore } from '../src/store';
import { openJobSystem, builtinJobTypes } from '../src/jobs/runtime';

/**
 * This process's identity in BullMQ (each job's `processedBy`): WORKER_ID, else host:pid, so the
 * processes on several machines stay apart in job details and logs.
 */
function workerName(env: NodeJS.ProcessEnv): string {
  const id = env.WORKER_ID ?? `${hostname()}:${process.pid}`;
  if (!/^[A-Za-z0-9._:@-]{1,100}$/.test(id)) throw new Error(`WORKER_ID: expected 1-100 of A-Z a-z 0-9 . _ : @ -, got "${id.slice(0, 100)}"`);
  return id;
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.redisUrl) throw new Error('REDIS_URL is required for workers (e.g. redis://127.0.0.1:6379)');
  const logger = createLogger({ level: config.logLevel, name: 'fabric-worker' });
  const opened = await openStore({ dataDir: config.dataDir, redisUrl: config.redisUrl, secretKey: config.secretKey });
  const jobTypes = builtinJobTypes(config, logger);
  const types = jobTypes.names();
  const jobs = openJobSystem({ redis: opened.redis, url: opened.url, store: opened.store, config, types: jobTypes });
  const name = workerName(process.env);
  await jobs.startWorkers({ redis: opened.redis, config, logger, store: opened.store }, {
    concurrency: config.jobConcurrency, lockDurationMs: config.jobLockMs, name,
  });
  logger.info({ worker: name, jobTypes: types, concurrency: config.jobConcurrency }, 'workers ready');
  process.stdout.write(`fabric worker: ready (${types.join(', ')}), concurrency ${config.jobConcurrency}, id ${name}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    logger.info('shutdown: started');
    // Running steps end at their next step boundary and go back to the queue (10 s at most).
    await jobs.shutdown(10_000).catch(() => undefined);
    logger.info('shutdown: workers closed');
    await opened.close().catch(() => undefined);
    logger.info('shutdown: redis connection closed');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e) => {
  process.stderr.write(`fabric worker: cannot start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(1);
});
