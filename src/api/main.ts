// `npm start`: the API and the workers in one process. With REDIS_URL unset it starts its own
// redis-server under DATA_DIR (AOF on) and stops it on exit.
import { loadConfig, ConfigError } from '../config';
import { createLogger } from '../log';
import { openStore } from '../store';
import { openJobSystem, registerBuiltinJobTypes } from '../jobs/runtime';
import { TokenStore } from './auth';
import { buildApp } from './app';
import { startDiscoveryServices } from '../discovery/service';
import { driftIntervalSeconds, startDriftScheduler } from '../jobs/drift';
import { connectRedis } from '../store';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'fabric' });
  const opened = await openStore({ dataDir: config.dataDir, redisUrl: config.redisUrl, secretKey: config.secretKey });
  if (opened.localRedis) logger.info({ redis: opened.url, dir: opened.localRedis.dir }, 'started local redis-server');
  const jobs = openJobSystem({ redis: opened.redis, url: opened.url, store: opened.store, config });
  const types = registerBuiltinJobTypes(config, logger);
  await jobs.startWorkers({ redis: opened.redis, config, logger, store: opened.store }, {
    concurrency: config.jobConcurrency, lockDurationMs: config.jobLockMs,
  });
  // Scheduled drift check (issue 7): DRIFT_INTERVAL_SECONDS, unset or 0 = off.
  const drift = await startDriftScheduler({ connect: () => connectRedis(opened.url, { connectionName: 'fabric-drift' }), store: opened.store, intervalSeconds: driftIntervalSeconds() });
  const tokens = new TokenStore(opened.redis);
  const admin = await tokens.ensureAdminToken(config.dataDir);
  const app = await buildApp({ store: opened.store, jobs, tokens, config, logger });
  // DHCP (greenfield ZTP) runs in the API process when DHCP_INTERFACE is set.
  const discovery = await startDiscoveryServices({ store: opened.store, config, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    await app.close().catch(() => undefined);
    await discovery.stop().catch(() => undefined);
    await jobs.close().catch(() => undefined);
    await drift.close().catch(() => undefined);
    await opened.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host });
  logger.info({ address, jobTypes: types, redis: opened.localRedis ? 'local' : 'external' }, 'fabric service listening');
  process.stdout.write(`fabric service: API on ${address}/api/v1 (docs ${address}/docs)\n`);
  process.stdout.write(`fabric service: admin token ${admin.created ? 'written to' : 'in'} ${admin.file}\n`);
}

main().catch((e) => {
  process.stderr.write(`fabric service: ${e instanceof ConfigError ? '' : 'cannot start: '}${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(1);
});
