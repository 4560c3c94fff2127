// Helpers for twin tests: unique lab names, commands inside a lab's namespaces, a TCP relay from
// 127.0.0.1 (the test process) into the lab's controller namespace, and "left nothing behind".
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, waitFor } from '../../src/lab/sh';
import { FINAL_STATES, type JobView } from '../../src/jobs/records';

export function labName(): string {
  // 't' + 5 of [a-z0-9]: short, unique, within the 8-character rule
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return 't' + [...randomBytes(5)].map((b) => abc[b % abc.length]).join('');
}

export function tmpRoot(): string {
  return mkdtempSync(join(tmpdir(), 'labtest-'));
}

export function sh(argv: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = execFile(argv[0], argv.slice(1), { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) c.stdin?.end(opts.input);
  });
}

export function inNs(ns: string, argv: string[], opts: { timeoutMs?: number; input?: string } = {}): ReturnType<typeof sh> {
  return sh(['ip', 'netns', 'exec', ns, ...argv], opts);
}

export async function namespaces(): Promise<string[]> {
  const r = await sh(['ip', '-j', 'netns', 'list']);
  try {
    return (JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name);
  } catch {
    return [];
  }
}

/** Polls fn until it returns a value other than undefined/false (the lab's own waitFor, polling every 250 ms). */
export function waitUntil<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  return waitFor(what, fn, timeoutMs, everyMs);
}

/**
 * 127.0.0.1:<port> in the test process -> unix socket -> a forwarder process inside
 * `<lab>-ctl` -> host:port on the management network. Closing stops the forwarder by pid.
 */
export interface Relay { port: number; close(): Promise<void> }

const FORWARDER = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
try { require('node:fs').unlinkSync(sock); } catch {}
net.createServer((c) => {
  const u = net.connect(Number(port), host);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(sock, () => process.stdout.write('ready\\n'));
`;

export async function relay(lab: string, host: string, port: number): Promise<Relay> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-'));
  const sock = join(dir, 's');
  const child: ChildProcess = spawn('ip', ['netns', 'exec', `${lab}-ctl`, process.execPath, '-e', FORWARDER, sock, host, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('relay forwarder did not start')), 10_000);
    child.stdout!.once('data', () => { clearTimeout(t); resolve(); });
    child.once('exit', (c) => { clearTimeout(t); reject(new Error(`relay forwarder exited ${c}`)); });
  });
  const open = new Set<import('node:net').Socket>();
  const server: Server = createServer((c) => {
    const u = connect(sock);
    open.add(c); open.add(u);
    c.on('close', () => open.delete(c)); u.on('close', () => open.delete(u));
    c.pipe(u); u.pipe(c);
    c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const p = (server.address() as { port: number }).port;
  return {
    port: p,
    close: async () => {
      for (const x of open) x.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SNMP walk from inside the controller namespace (numeric OIDs, net-snmp's own client). */
export async function snmpwalk(lab: string, host: string, oid: string, auth: string[] = ['-v2c', '-c', 'fabric-ro']): Promise<Map<string, string>> {
  const r = await inNs(`${lab}-ctl`, ['snmpwalk', '-On', '-Oq', '-t', '2', '-r', '1', ...auth, host, oid], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`snmpwalk ${host} ${oid}: ${r.stderr.trim()}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    out.set(line.slice(0, i), line.slice(i + 1).replace(/^"|"$/g, ''));
  }
  return out;
}

/** What a lab may leave behind: namespaces, FRR pathspaces, its run directory, live processes. */
export async function leftovers(lab: string, root: string, pids: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of await namespaces()) if (n === `${lab}-ctl` || n.startsWith(`${lab}-`)) out.push(`namespace ${n}`);
  for (const d of ['/var/run/frr', '/etc/frr', '/run/twin']) {
    if (!existsSync(d)) continue;
    for (const e of require('node:fs').readdirSync(d) as string[]) if (e.startsWith(`${lab}-`)) out.push(`${d}/${e}`);
  }
  if (existsSync(join(root, lab, 'run'))) out.push(`${join(root, lab, 'run')}`);
  for (const p of pids) if (alive(p)) out.push(`process ${p}`);
  return out;
}

/** alive = /proc entry present and not a zombie */
export function alive(pid: number): boolean {
  try {
    const s = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** resolves p, or undefined after ms (never hangs a cleanup) */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

/**
 * The fabric the netns twin tests create in their store: FRR devices on the lab's management
 * segment (10.0.0.0/24, the controller at .1), and with `bms` one L2VNI `web` (with `subnet`, if
 * given) and a single-homed server on swp10 of leaf1 and of leaf2.
 */
export function twinFabricInput(name: string, devices: readonly object[], links: readonly string[][], o: { bms?: boolean; subnet?: string } = {}): object {
  return {
    fabric: {
      name, credentials: { username: 'admin', password: 's3cret' }, snmp: { community: 'fabric-ro' },
      namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512 },
    },
    devices: devices.map((x) => ({ ...x, profile: 'frr-switch' })),
    links,
    ...(o.bms ? {
      virtualNetworks: [{ name: 'web', vni: 10010, ...(o.subnet ? { subnet: o.subnet } : {}) }],
      servers: [{ name: 'bms1', nics: [{ device: 'leaf1', port: 'swp10' }] }, { name: 'bms2', nics: [{ device: 'leaf2', port: 'swp10' }] }],
      vpgs: [
        { name: 'bms1', server: 'bms1', ports: [{ device: 'leaf1', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
        { name: 'bms2', server: 'bms2', ports: [{ device: 'leaf2', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
      ],
    } : {}),
  };
}

/** Polls a job until it ends (succeeded, failed or cancelled); throws after `ms`. */
export async function jobFinished(jobs: { get(id: string, o?: { logLimit?: number }): Promise<JobView | undefined> }, id: string, ms: number): Promise<JobView> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await jobs.get(id, { logLimit: 5000 });
    if (v && FINAL_STATES.includes(v.state)) return v;
    await sleep(250);
  }
  throw new Error(`job ${id} did not finish in ${ms} ms`);
}
