// The service's API over real HTTP on 127.0.0.1 against a real Redis, with tokens of each role
// and every log line kept (tests read them for secrets). Workers run in-process when asked.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import type { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from './redis';
export { dumpKeys } from './redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { autoconfigureJob, type PushDeviceFn } from '../../src/jobs/autoconfigure';
import { TokenStore, type Role } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import type { RateLimits } from '../../src/api/security';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

/** The repository root, from test/helpers or from dist/test/helpers (the benchmarks run there). */
export const ROOT = ((): string => {
  let d = __dirname;
  for (let i = 0; i < 5 && !existsSync(path.join(d, 'examples')); i++) d = path.dirname(d);
  return d;
})();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const example = (name: string): any => load(readFileSync(path.join(ROOT, 'examples', `${name}.yaml`), 'utf8'));

export interface CallResult { status: number; json: any; text: string; headers: Record<string, string> } // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ApiHarness {
  t: TestRedis;
  redis: Redis;
  store: Store;
  jobs: JobSystem;
  app: App;
  base: string;
  tokens: Record<Role, string>;
  /** Every log line the app and workers wrote (JSON text), in order. */
  logs: string[];
  call(method: string, url: string, opts?: { role?: Role | 'none'; body?: unknown; headers?: Record<string, string> }): Promise<CallResult>;
  waitJob(id: string, states?: string[], timeoutMs?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  stop(): Promise<void>;
}

export async function startApi(opts: { workers?: boolean; push?: PushDeviceFn; rateLimits?: RateLimits; env?: NodeJS.ProcessEnv; secretKey?: Buffer } = {}): Promise<ApiHarness> {
  const t = await startTestRedis();
  const redis = t.client();
  // secretKey: two services that share a store key (backup in one, restore in the other).
  const store = new Store(redis, { secretKey: opts.secretKey ?? t.secretKey });
  // autoconfigure with the test's push (none: intended configs recorded, nothing sent)
  const types = new JobTypes().register(autoconfigureJob({ push: opts.push }));
  const jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 10_000, types });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => { logs.push(l); } } as never });
  const config = loadConfig({ DATA_DIR: t.dataDir, ...(opts.env ?? {}) });
  if (opts.workers) await jobs.startWorkers({ redis, config, logger, store }, { concurrency: 4 });
  const ts = new TokenStore(redis);
  const tokens = { viewer: '', operator: '', admin: '' } as Record<Role, string>;
  for (const r of ['viewer', 'operator', 'admin'] as Role[]) tokens[r] = (await ts.create(r, `test-${r}`)).token;
  // Tests send hundreds of unauthenticated requests on purpose: no failure limit unless asked.
  const rateLimits = opts.rateLimits ?? { perMinute: 100_000, tokensPerMinute: 1000, authFailuresPerMinute: 1_000_000 };
  const app = await buildApp({ store, jobs, tokens: ts, config, logger, rateLimits });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const call: ApiHarness['call'] = async (method, url, o = {}) => {
    const role = o.role ?? 'admin';
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (role !== 'none') headers.authorization = `Bearer ${tokens[role]}`;
    if (o.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + url, { method, headers, ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}) });
    const text = await res.text();
    let json: unknown;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, json, text, headers: Object.fromEntries(res.headers.entries()) };
  };
  const waitJob: ApiHarness['waitJob'] = async (id, states = ['succeeded', 'failed', 'cancelled'], timeoutMs = 60_000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await call('GET', `/api/v1/jobs/${id}`, { role: 'viewer' });
      if (r.json && states.includes(r.json.state)) return r.json;
      await sleep(50);
    }
    throw new Error(`job ${id} did not reach ${states.join('|')} within ${timeoutMs} ms`);
  };
  return {
    t, redis, store, jobs, app, base, tokens, logs, call, waitJob,
    stop: async () => {
      await app.close().catch(() => undefined);
      await jobs.close().catch(() => undefined);
      await t.stop();
    },
  };
}
