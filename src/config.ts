// Service environment (docs/architecture.md, Contracts). One place reads process.env; everything else takes a ServiceConfig.
import * as path from 'node:path';

export interface ServiceConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Unset: `npm start` launches its own redis-server under dataDir. */
  redisUrl?: string;
  /** Port of that embedded redis-server (REDIS_PORT or `--redis-port`); unset: a free port each start. */
  redisPort?: number;
  /** 32 bytes, base64; unset: the store keeps a 0600 key file in dataDir. */
  secretKey?: string;
  /** Unset: no DHCP server. */
  dhcpInterface?: string;
  /** Who answers DHCP on dhcpInterface: the built-in server or Debian's kea-dhcp4 (DHCP_BACKEND). */
  dhcpBackend: 'builtin' | 'kea';
  ztpBaseUrl?: string;
  /** CIDRs sweeps, SNMP and NETCONF may reach; empty refuses everything. */
  discoveryAllow: string[];
  /** Device jobs a worker process runs at once (BullMQ worker concurrency). */
  jobConcurrency: number;
  /** BullMQ job lock: a dead worker's device job is retried after about this long (JOB_LOCK_MS). */
  jobLockMs: number;
  /** Fabric lock TTL, kept alive by live workers (FABRIC_LOCK_TTL_MS). */
  fabricLockTtlMs: number;
  /** Extra job-type modules to load (FABRIC_JOB_PLUGINS, comma-separated paths). */
  jobPlugins: string[];
  /** FABRIC_PUSH=off: autoconfigure records intended configs only, nothing reaches devices. */
  push: boolean;
  /** API requests per minute per token (RATE_LIMIT_PER_MINUTE; 0 turns the limit off). */
  rateLimitPerMinute: number;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function intVar(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name}: ${n} is outside ${min}..${max}`);
  return n;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const redisUrl = optional(env, 'REDIS_URL');
  if (redisUrl && !/^rediss?(\+sentinel|\+cluster)?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL: expected redis://[:password@]host:port, rediss://..., redis+sentinel://host:port,.../<master> or redis+cluster://host:port,host:port/, got "${redisUrl.replace(/^[^@]*@/, '***@')}"`);
  }
  const redisPort = optional(env, 'REDIS_PORT') === undefined ? undefined : intVar(env, 'REDIS_PORT', 0, 1, 65535);
  if (redisPort !== undefined && redisUrl) throw new ConfigError('REDIS_PORT: sets the port of the embedded redis-server, but REDIS_URL is set (put the port in REDIS_URL)');
  const secretKey = optional(env, 'FABRIC_SECRET_KEY');
  if (secretKey && Buffer.from(secretKey, 'base64').length !== 32) {
    throw new ConfigError('FABRIC_SECRET_KEY: expected 32 bytes, base64-encoded');
  }
  const allow = optional(env, 'DISCOVERY_ALLOW');
  const dhcpBackend = optional(env, 'DHCP_BACKEND') ?? 'builtin';
  if (dhcpBackend !== 'builtin' && dhcpBackend !== 'kea') {
    throw new ConfigError(`DHCP_BACKEND: expected builtin or kea, got "${dhcpBackend}"`);
  }
  const push = optional(env, 'FABRIC_PUSH') ?? 'on';
  if (push !== 'on' && push !== 'off') throw new ConfigError(`FABRIC_PUSH: expected on or off, got "${push}"`);
  return {
    port: intVar(env, 'PORT', 8080, 0, 65535),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    dataDir: path.resolve(optional(env, 'DATA_DIR') ?? './data'),
    redisUrl,
    ...(redisPort !== undefined ? { redisPort } : {}),
    secretKey,
    dhcpInterface: optional(env, 'DHCP_INTERFACE'),
    dhcpBackend,
    ztpBaseUrl: optional(env, 'ZTP_BASE_URL'),
    discoveryAllow: allow ? allow.split(',').map((s) => s.trim()).filter(Boolean) : [],
    jobConcurrency: intVar(env, 'JOB_CONCURRENCY', 50, 1, 10000),
    jobLockMs: intVar(env, 'JOB_LOCK_MS', 30_000, 500, 3_600_000),
    fabricLockTtlMs: intVar(env, 'FABRIC_LOCK_TTL_MS', 60_000, 500, 3_600_000),
    jobPlugins: (optional(env, 'FABRIC_JOB_PLUGINS') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    push: push === 'on',
    rateLimitPerMinute: intVar(env, 'RATE_LIMIT_PER_MINUTE', 3000, 0, 10_000_000),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
  };
}

/** Command-line flags of `npm start` (node dist/src/api/main.js), as the variables they set. */
const FLAGS = new Map([['--redis-port', 'REDIS_PORT'], ['--port', 'PORT'], ['--data-dir', 'DATA_DIR']]);

/** `--redis-port 6390` or `--redis-port=6390` -> {REDIS_PORT: '6390'}; a flag wins over the variable. */
export function flagsToEnv(argv: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const name = FLAGS.get(flag);
    if (!name) throw new ConfigError(`${argv[i]}: unknown option (known: ${[...FLAGS.keys()].join(', ')}; the rest is set by environment variables, see README)`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new ConfigError(`${flag}: needs a value`);
    out[name] = v;
  }
  return out;
}
