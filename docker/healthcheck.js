#!/usr/bin/env node
// Container health checks (Dockerfile HEALTHCHECK, docker-compose.yml). Exit 0 healthy, 1 not.
//   node docker/healthcheck.js api      GET http://127.0.0.1:$PORT/readyz answers 200 (Redis reachable)
//   node docker/healthcheck.js worker   the worker process runs and Redis ($REDIS_URL) answers PING
// Never prints the Redis URL (it carries the password).
'use strict';
const { readdirSync, readFileSync } = require('node:fs');

function fail(msg) { process.stderr.write(`unhealthy: ${msg}\n`); process.exit(1); }

async function api() {
  const port = process.env.PORT || '8080';
  const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2500) }).catch((e) => fail(`readyz: ${e.message}`));
  if (!r.ok) fail(`readyz answered ${r.status}`);
}

async function worker() {
  const running = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('dist/workers/main.js'); } catch { return false; }
  });
  if (!running) fail('no dist/workers/main.js process');
  if (!process.env.REDIS_URL) fail('REDIS_URL is not set');
  const Redis = require('ioredis');
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') fail('redis did not answer PONG');
  } catch (e) {
    fail(`redis: ${String(e.message).replace(/\/\/[^@]*@/, '//***@')}`);
  } finally { redis.disconnect(); }
}

const what = process.argv[2];
(what === 'api' ? api() : what === 'worker' ? worker() : fail('usage: healthcheck.js api|worker'))
  .then(() => process.exit(0), (e) => fail(e.message));
