// Shared setup for the discovery integration tests. A throwaway redis-server on a unix socket
// (not TCP: the onboarding runs in a child inside a network namespace, where 127.0.0.1 is a
// different host, but the socket file is reachable from both), a Store with a random secret
// key, the fabric created from the test's spec, and a ts require hook so that child can load
// src/*.ts. stop() kills redis by pid and removes the temp dir; safe to call twice.
// (test/helpers/redis.ts is TCP-only, hence this separate fixture.)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Store } from '../../src/store';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';

const ROOT_DIR = resolve(__dirname, '../..');

/** JSON string literal of the absolute path of a repo file, for require() in a child script. */
export const src = (p: string): string => JSON.stringify(join(ROOT_DIR, p));

export interface DiscoveryFixture {
  /** Temp dir (mode 755): redis socket, ts hook; tests may put more in it. */
  dir: string;
  /** The redis unix socket path. */
  sock: string;
  redis: Redis;
  store: Store;
  /** The Store's 32-byte secret key (children build their Store with the same key). */
  key: Buffer;
  /** A -r hook for node that compiles .ts on require. */
  hook: string;
  /**
   * Runs `node -r hook -e script` inside network namespace `netns`, collects stdout+stderr and
   * the `RESULT <json>` lines; SIGKILLs it after timeoutMs; throws (with the last `tail`
   * characters of its output) unless it exits 0 with exactly `results` RESULT lines.
   * onOutput sees the output as it grows (so a caller keeps it even when this throws).
   */
  runChild(netns: string, script: string, opts: { timeoutMs: number; results: number; tail: number; onOutput?: (out: string) => void }): Promise<{ out: string; results: any[] }>;
  stop(): void;
}

export async function startDiscoveryFixture(opts: { prefix: string; fabric: Parameters<Store['createFabric']>[0] }): Promise<DiscoveryFixture> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  let redisProc: ChildProcess | undefined;
  let redis: Redis | undefined;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    redis?.disconnect();
    if (redisProc?.pid) { try { process.kill(redisProc.pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    chmodSync(dir, 0o755);
    const sock = join(dir, 'redis.sock');
    redisProc = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    redis = new Redis({ path: sock });
    const key = randomBytes(32);
    const store = new Store(redis, { secretKey: key });
    await store.createFabric(opts.fabric);
    const hook = join(dir, 'ts-hook.js');
    writeFileSync(hook, `const ts = require(${JSON.stringify(require.resolve('typescript'))}); const fs = require('fs');
require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: f }).outputText, f);\n`);
    const runChild: DiscoveryFixture['runChild'] = async (netns, script, o) => {
      let out = '';
      const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-r', hook, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => { out += d.toString(); o.onOutput?.(out); });
      child.stderr!.on('data', (d: Buffer) => { out += d.toString(); o.onOutput?.(out); });
      const code = await new Promise<number>((res) => {
        const t = setTimeout(() => { child.kill('SIGKILL'); }, o.timeoutMs);
        child.on('close', (c) => { clearTimeout(t); res(c ?? 1); });
      });
      const results = out.split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
      if (code !== 0 || results.length !== o.results) throw new Error(`child failed (${code}): ${out.slice(-o.tail)}`);
      return { out, results };
    };
    return { dir, sock, redis, store, key, hook, runChild, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/** A fabric for onboarding: its management subnet, devices known only by serial (no roles,
 * no links: what onboarding fills in), the usual loopback, /31 and ASN pools. */
export function onboardingFabric(o: {
  name: string; password: string; community: string; management: { cidr: string; gateway: string };
  devices: { name: string; serial: string }[];
}): Parameters<Store['createFabric']>[0] {
  return {
    fabric: {
      name: o.name, credentials: { username: 'admin', password: o.password }, snmp: { community: o.community },
      namespaces: { management: [o.management], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }] },
    },
    devices: o.devices.map((d) => ({ ...d, profile: 'frr-switch', physicalRole: d.name.startsWith('spine') ? 'spine' : 'leaf', roles: [] })),
    links: [],
  };
}

/** The simulator's fabric on `cidr` (gateway .254): spine1 and leaf1 listed by serial take these
 * names; the other sim devices keep their serials. */
export function simFabric(name: string, cidr: string): Parameters<Store['createFabric']>[0] {
  return onboardingFabric({
    name, password: 'admin123', community: 'fabric-ro',
    management: { cidr, gateway: cidr.replace(/\.0\/24$/, '.254') },
    devices: [{ name: 'spine1', serial: 'SIM00001' }, { name: 'leaf1', serial: 'SIM00003' }],
  });
}

export interface DiscoveryTwin {
  fx: DiscoveryFixture;
  labRoot: string;
  /** Lab down, then the fixture stopped; errors of the lab's down are its own tests' business. */
  down(): Promise<void>;
}

/**
 * The fixture with fabric `fabric` (the given serials as frr-switch devices, no roles, no links:
 * what onboarding fills in) and a netns twin `lab` of those devices cabled as `links` on
 * 10.0.0.0/24; `preconfigured` brings the devices up bootstrapped with the fabric's credentials
 * and SNMP community (brownfield) instead of in factory default (greenfield).
 */
export async function startDiscoveryTwin(o: {
  prefix: string; lab: string; fabric: string; password: string; community: string;
  serials: Record<string, string>; links: [string, string][]; preconfigured?: boolean;
}): Promise<DiscoveryTwin> {
  const management = { cidr: '10.0.0.0/24', gateway: '10.0.0.1' };
  const fx = await startDiscoveryFixture({ prefix: o.prefix, fabric: onboardingFabric({
    name: o.fabric, password: o.password, community: o.community, management,
    devices: Object.entries(o.serials).map(([name, serial]) => ({ name, serial })),
  }) });
  const labRoot = join(fx.dir, 'lab');
  const down = async (): Promise<void> => {
    try { await netnsBackend.down(o.lab, { root: labRoot }); } catch { /* reported by the lab's own tests */ }
    fx.stop();
  };
  try {
    const topo = validateTopology({
      name: o.lab,
      devices: Object.entries(o.serials).map(([name, serial]) => ({ name, profile: 'frr-switch', serial })),
      links: o.links,
      management,
      ...(o.preconfigured ? { credentials: { username: 'admin', password: o.password }, snmp: { community: o.community } } : {}),
    });
    await netnsBackend.up(topo, { root: labRoot, timeoutSeconds: 120, ...(o.preconfigured ? { preconfigured: true } : {}) });
  } catch (e) {
    await down();
    throw e;
  }
  return { fx, labRoot, down };
}
