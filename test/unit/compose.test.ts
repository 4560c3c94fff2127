// docker-compose.yml and the Dockerfile cannot run here (no Docker engine on this machine
// kind): parse both, resolve compose's ${VAR} interpolation as `docker compose` does, and
// check the rules a working deployment needs (docs/deploy.md).
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';

const ROOT = path.join(__dirname, '../..');
const composeText = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** Compose interpolation: ${V}, ${V:-default}, ${V-default}, ${V:?error}, ${V?error}, $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const v = Object.hasOwn(env, name!) ? env[name!] : undefined;
    const empty = v === undefined || (op?.startsWith(':') && v === '');
    if (op?.endsWith('?') && empty) throw new Error(`required variable ${name} is missing a value: ${arg}`);
    if (op?.endsWith('-') && empty) return arg ?? '';
    return v ?? '';
  });
}

const ENV = { REDIS_PASSWORD: 'pw-3f9a1c', DHCP_INTERFACE: 'eth1' };
const compose = (env: Record<string, string> = ENV): any => load(interpolate(composeText, env));

/** Dockerfile instructions (continuation lines joined, comments dropped), split per stage. */
function dockerStages(text: string): { from: string; name?: string; lines: string[] }[] {
  const joined = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  const stages: { from: string; name?: string; lines: string[] }[] = [];
  for (const line of joined.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (m) stages.push({ from: m[1], name: m[2], lines: [] });
    else stages[stages.length - 1]?.lines.push(line);
  }
  return stages;
}

describe('docker-compose.yml', () => {
  const doc = compose();
  const services = doc.services;

  it('has redis, api and worker, and refuses to start without REDIS_PASSWORD', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'redis', 'worker']);
    expect(() => compose({})).toThrow(/REDIS_PASSWORD/);
  });

  it('puts a health check on every service', () => {
    for (const [name, s] of Object.entries<any>(services)) {
      expect([name, Array.isArray(s.healthcheck?.test) && s.healthcheck.test.length > 1]).toEqual([name, true]);
      expect(s.healthcheck.test[0]).toMatch(/^CMD(-SHELL)?$/);
    }
    // the checks run what the image has
    expect(services.api.healthcheck.test).toEqual(['CMD', 'node', 'docker/healthcheck.js', 'api']);
    expect(services.worker.healthcheck.test).toEqual(['CMD', 'node', 'docker/healthcheck.js', 'worker']);
    expect(existsSync(path.join(ROOT, 'docker/healthcheck.js'))).toBe(true);
  });

  it('runs Redis with a password (not on its command line once interpolated, not in the health check) and AOF on a volume', () => {
    const r = services.redis;
    const cmd = r.command.join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--requirepass "$REDIS_PASSWORD"'); // read from the container env by sh
    expect(cmd).not.toContain(ENV.REDIS_PASSWORD);
    expect(r.environment.REDIS_PASSWORD).toBe(ENV.REDIS_PASSWORD);
    expect(r.healthcheck.test.join(' ')).toContain('REDISCLI_AUTH=');
    expect(r.healthcheck.test.join(' ')).not.toMatch(/ -a /);
    expect(r.volumes).toContain('redis-data:/data');
    expect(Object.keys(doc.volumes)).toContain('redis-data');
    // published for the host-network API, on loopback only
    expect(r.ports).toEqual(['127.0.0.1:6379:6379']);
  });

  it('hands the Redis password to the API and the workers through REDIS_URL, each on a host it can reach', () => {
    const pw = encodeURIComponent(ENV.REDIS_PASSWORD);
    expect(services.worker.environment.REDIS_URL).toBe(`redis://:${pw}@redis:6379`);
    // the API is on the host network: compose's DNS name `redis` does not resolve there
    expect(services.api.environment.REDIS_URL).toBe(`redis://:${pw}@127.0.0.1:6379`);
    const moved = compose({ ...ENV, REDIS_HOST_PORT: '16379' });
    expect(moved.services.api.environment.REDIS_URL).toBe(`redis://:${pw}@127.0.0.1:16379`);
    expect(moved.services.redis.ports).toEqual(['127.0.0.1:16379:6379']);
    for (const s of ['api', 'worker']) expect(services[s].depends_on.redis.condition).toBe('service_healthy');
  });

  it('runs DHCP/ZTP (the API) on the host network with NET_ADMIN, as the non-root user', () => {
    const api = services.api;
    expect(api.network_mode).toBe('host');
    expect(api.cap_add).toEqual(expect.arrayContaining(['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE']));
    expect(api.ports).toBeUndefined(); // meaningless on the host network
    expect(api.user).toBeUndefined(); // the image's user (fabric), not root
    expect(api.environment.DHCP_INTERFACE).toBe('eth1');
    expect(api.environment.DHCP_BACKEND).toBe('builtin');
    expect(compose({ ...ENV, DHCP_BACKEND: 'kea' }).services.api.environment.DHCP_BACKEND).toBe('kea');
    // the capability-carrying node and ip of the image, first on PATH
    expect(api.command[0]).toBe('/opt/fabric/caps/node');
    expect(api.environment.PATH.split(':')[0]).toBe('/opt/fabric/caps');
    expect(dockerfile).toContain('setcap cap_net_bind_service,cap_net_raw+ep /opt/fabric/caps/node');
    expect(dockerfile).toContain('setcap cap_net_admin+ep /opt/fabric/caps/ip');
  });

  it('gives every process that writes DATA_DIR a read-write mount there (a read-only /data crashed the workers)', () => {
    for (const name of ['api', 'worker']) {
      const s = services[name];
      expect(s.environment.DATA_DIR).toBe('/data');
      const mount = (s.volumes as string[]).find((v) => v.split(':')[1] === '/data');
      expect([name, mount]).toEqual([name, 'fabric-data:/data']); // no :ro
    }
    expect(Object.keys(doc.volumes)).toContain('fabric-data');
  });

  it('starts the API and the workers from entry points the build produces', () => {
    expect(services.api.command.slice(1)).toEqual(['dist/src/api/main.js']);
    expect(services.worker.command).toEqual(['node', 'dist/workers/main.js']);
    for (const src of ['src/api/main.ts', 'workers/main.ts']) expect(existsSync(path.join(ROOT, src))).toBe(true);
    for (const s of ['api', 'worker']) expect(services[s].build).toBe('.');
  });

  it('lets workers scale: no fixed container name, no published port, no host network', () => {
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
    expect(services.worker.network_mode).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const stages = dockerStages(dockerfile);
  const last = stages[stages.length - 1];

  it('is multi-stage, the runtime copying only built output and production packages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toMatch(/^node:20-/);
    const copies = last.lines.filter((l) => /^COPY --from=/.test(l));
    expect(copies.map((l) => l.split(/\s+/)[1]).sort()).toEqual(['--from=build', '--from=prod-deps']);
    const prod = stages.find((s) => s.name === 'prod-deps')!;
    expect(prod.lines.join('\n')).toMatch(/npm ci --omit=dev/);
    for (const s of stages.filter((x) => x.lines.some((l) => /npm ci/.test(l)))) {
      expect(s.lines.join('\n')).toContain('node scripts/lock.js check');
    }
  });

  it('runs as a non-root user', () => {
    const users = last.lines.filter((l) => /^USER\s/.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1].split(/\s+/)[1];
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(last.lines.join('\n')).toContain(`useradd --system --uid 10001 --gid fabric`);
  });

  it('installs fping, the snmp tools, the redis client and Kea from Debian', () => {
    const apt = last.lines.find((l) => l.includes('apt-get install'))!;
    for (const pkg of ['fping', 'snmp', 'redis-tools', 'kea-dhcp4-server', 'iproute2']) expect(apt.split(/\s+/)).toContain(pkg);
  });

  it('has a health check and copies what the service reads at run time', () => {
    expect(last.lines.some((l) => /^HEALTHCHECK .*CMD \["node", "docker\/healthcheck.js", "api"\]/.test(l))).toBe(true);
    for (const dir of ['templates', 'node-profiles', 'bin']) {
      expect(last.lines).toContain(`COPY ${dir} ${dir}`);
      expect(existsSync(path.join(ROOT, dir))).toBe(true);
    }
  });

  it('runs a lock check before npm ci that catches a lock without the other platforms\' packages', () => {
    // what broke `npm ci`: npm 10 rebuilt the lock from an installed node_modules (Linux x64 only)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { lockProblems } = require('../../scripts/lock.js') as { lockProblems: (lock: any, pkg: any) => string[] };
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(lockProblems(lock, pkg)).toEqual([]);
    const pruned = structuredClone(lock);
    for (const k of Object.keys(pruned.packages)) if (/msgpackr-extract-(darwin|win32)/.test(k)) delete pruned.packages[k];
    expect(lockProblems(pruned, pkg)).toEqual([
      'node_modules/msgpackr-extract needs @msgpackr-extract/msgpackr-extract-darwin-arm64: no entry in the lock',
      'node_modules/msgpackr-extract needs @msgpackr-extract/msgpackr-extract-darwin-x64: no entry in the lock',
      'node_modules/msgpackr-extract needs @msgpackr-extract/msgpackr-extract-win32-x64: no entry in the lock',
    ]);
    expect(lockProblems(lock, { ...pkg, dependencies: { ...pkg.dependencies, leftpad: '^1.0.0' } })).toEqual(['package.json dependencies.leftpad ^1.0.0: the lock has nothing']);
  });

  it('keeps the build context small and secret-free (.dockerignore)', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'data', '.env', '.git']) expect(ignore).toContain(p);
  });
});
