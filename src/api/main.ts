// `npm start`: the API and the workers in one process. With REDIS_URL unset it starts its own
// redis-server under DATA_DIR (loopback, password, AOF on) and stops it on exit.
//
// Two Redis connections: the workers' waits across a Redis restart (jobs resume); the API's
// fails fast (a request answers 503 while Redis is down instead of hanging).
import { flagsToEnv, loadConfig, ConfigError } from '../config';
import { createLogger } from '../log';
import { connectApiRedis, connectQueueRedis, openStore, queuePrefix, redactRedisUrl, redisReady, Store } from '../store';
import { openJobSystem, builtinJobTypes } from '../jobs/runtime';
import { TokenStore } from './auth';
import { buildApp } from './app';
import { startDiscoveryServices } from '../discovery/service';
import { driftIntervalSeconds, startDriftScheduler } from '../jobs/drift';

/** Bounds of a SIGTERM: running device steps get this long, the whole stop a little more. */
const WORKER_GRACE_MS = 10_000;
const STOP_BOUND_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, ...flagsToEnv(process.argv.slice(2)) });
  const logger = createLogger({ level: config.logLevel, name: 'fabric' });
  const opened = await openStore({ dataDir: config.dataDir, redisUrl: config.redisUrl, redisPort: config.redisPort, secretKey: config.secretKey });
  if (opened.localRedis) logger.info({ redis: redactRedisUrl(opened.url), dir: opened.localRedis.dir }, 'started local redis-server');
  if (opened.migration.steps.length) logger.info({ from: opened.migration.from, to: opened.migration.to, steps: opened.migration.steps }, 'store schema migrated');
  // DHCP (greenfield ZTP) runs in the API process when DHCP_INTERFACE is set. Up before the
  // workers: a job resumed at start may check that a DHCP server serves its fabric.
  const discovery = await startDiscoveryServices({ store: opened.store, config, logger });
  const jobTypes = builtinJobTypes(config, logger);
  const types = jobTypes.names();
  const workerJobs = openJobSystem({ redis: opened.redis, url: opened.url, store: opened.store, config, types: jobTypes });
  await workerJobs.startWorkers({ redis: opened.redis, config, logger, store: opened.store }, {
    concurrency: config.jobConcurrency, lockDurationMs: config.jobLockMs,
  });
  // Scheduled drift check (issue 7): DRIFT_INTERVAL_SECONDS, unset or 0 = off.
  const drift = await startDriftScheduler({ connect: () => connectQueueRedis(opened.url, { connectionName: 'fabric-drift' }), prefix: queuePrefix(opened.url), store: opened.store, intervalSeconds: driftIntervalSeconds() });
  const apiRedis = connectApiRedis(opened.url);
  await redisReady(apiRedis);
  const apiStore = new Store(apiRedis, { secretKey: opened.secretKey });
  const apiJobs = openJobSystem({ redis: apiRedis, url: opened.url, store: apiStore, config, types: jobTypes });
  const tokens = new TokenStore(apiRedis);
  const admin = await tokens.ensureAdminToken(config.dataDir);
  const app = await buildApp({ store: apiStore, jobs: apiJobs, tokens, config, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const t0 = Date.now();
    const force = setTimeout(() => { logger.error({ ms: Date.now() - t0 }, 'shutdown: bound reached, exiting now'); process.exit(1); }, STOP_BOUND_MS);
    force.unref();
    const stage = async (what: string, fn: () => Promise<unknown>) => {
      await fn().catch((e) => logger.warn({ err: (e as Error).message }, `shutdown: ${what} failed`));
      logger.info({ ms: Date.now() - t0 }, `shutdown: ${what}`);
    };
    logger.info({ signal }, 'shutdown: started');
    // Order matters: nothing new comes in, work in flight ends or goes back to the queue, and
    // only then the clients and the local Redis go (else workers see ECONNREFUSED and retry).
    await stage('stopped taking requests', () => app.close());
    await stage('DHCP stopped', () => discovery.stop());
    await stage('drift scheduler stopped', () => drift.close());
    await stage('workers closed (running steps handed back to the queue)', () => workerJobs.shutdown(WORKER_GRACE_MS));
    await stage('queues and clients closed', async () => { await apiJobs.close(); await apiRedis.quit().catch(() => apiRedis.disconnect()); });
    await stage(opened.localRedis ? 'local redis stopped' : 'redis connection closed', () => opened.close());
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ address, jobTypes: types, redis: opened.localRedis ? 'local' : 'external' }, 'fabric service listening');
  process.stdout.write(`fabric service: API on ${address}/api/v1 (docs ${address}/docs)\n`);
  process.stdout.write(`fabric service: admin token ${admin.created ? 'written to' : 'in'} ${admin.file}\n`);
  if (opened.localRedis) process.stdout.write(`fabric service: embedded redis on 127.0.0.1:${opened.localRedis.port}${config.redisPort ? '' : ' (a free port; fix it with REDIS_PORT or --redis-port)'}\n`);
}

main().catch((e) => {
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  process.stderr.write(`fabric service: ${e instanceof ConfigError ? '' : 'cannot start: '}${msg}\n`);
  process.exit(1);
});
