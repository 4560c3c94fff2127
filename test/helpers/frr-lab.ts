// A throw-away lab of real FRR routers: one network namespace per device, veth pairs named as
// the ports of the fabric file, zebra + bgpd + bfdd started EMPTY in each namespace with their
// own pathspace (`-N <ns>`: /var/run/frr/<ns>/), configs loaded with `vtysh -N <ns> -f FILE`.
// Everything it makes is named `<tag>-...` (tag = `fr` + 4 random chars) and removed by
// destroy(): daemons by pid, namespaces by name, run and temp directories.
// Notes from this machine (docs/twin-vm.md and the helpers here): a new namespace has ip_forward=0; daemons drop
// to user frr, so /var/run/frr/<ns> must belong to frr; `-P 0` keeps the vty off TCP.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const FRR_DIR = '/usr/lib/frr';
export const FRR_RUN = '/var/run/frr';
export type FrrDaemon = 'zebra' | 'bgpd' | 'bfdd';

export interface LabLink { a: { device: string; port: string }; b: { device: string; port: string } }

export interface FrrLabOptions {
  devices: string[];
  links: LabLink[];
  daemons?: FrrDaemon[];
  /** Upper bound for a daemon to open its vty socket. */
  startTimeoutMs?: number;
}

export interface LoadResult { ok: boolean; status: number | null; errors: string[] }

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function randomTag(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return 'fr' + [...randomBytes(4)].map((b) => abc[b % abc.length]).join('');
}

/**
 * Lines vtysh prints that reject nothing: we never write /etc/frr/<ns>/vtysh.conf, and bgpd
 * notes that graceful restart applies to sessions made from now on (the daemons start empty,
 * so there are none yet). Anything else vtysh prints counts as an error.
 */
const VTYSH_NOISE = /Can't open configuration file .*vtysh\.conf|^Graceful restart configuration changed, reset all peers to take effect$/;

export class FrrLab {
  readonly tag = randomTag();
  readonly dir = mkdtempSync(path.join(tmpdir(), 'frr-lab-'));
  private readonly procs: { ns: string; daemon: FrrDaemon; child: ChildProcess }[] = [];
  private readonly namespaces: string[] = [];
  private readonly hostVeths: string[] = [];
  private destroyed = false;

  private constructor(readonly options: FrrLabOptions) {}

  /** Builds namespaces and links and starts the daemons; on any failure removes what it made. */
  static async create(options: FrrLabOptions): Promise<FrrLab> {
    const lab = new FrrLab(options);
    try {
      lab.buildNetwork();
      for (const d of options.devices) await lab.startDaemons(d);
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  /** Namespace (and FRR pathspace) of a device: short, lowercase, unique to this lab. */
  ns(device: string): string {
    return `${this.tag}-${device}`.toLowerCase();
  }

  private buildNetwork(): void {
    for (const d of this.options.devices) {
      const ns = this.ns(d);
      sh('ip', ['netns', 'add', ns]);
      this.namespaces.push(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // /proc/sys/net inside `ip netns exec` is the namespace's own.
      sh('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    }
    this.options.links.forEach((l, i) => {
      // Temporary host-side names (<=15 chars), renamed to the port names inside the namespaces.
      const va = `${this.tag}v${i}a`;
      const vb = `${this.tag}v${i}b`;
      sh('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
      this.hostVeths.push(va);
      for (const [v, end] of [[va, l.a], [vb, l.b]] as const) {
        const ns = this.ns(end.device);
        sh('ip', ['link', 'set', v, 'netns', ns]);
        sh('ip', ['-n', ns, 'link', 'set', v, 'name', end.port]);
        sh('ip', ['-n', ns, 'link', 'set', end.port, 'up']);
      }
    });
  }

  private async waitFor(file: string, timeoutMs: number, what: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!existsSync(file)) {
      if (Date.now() > until) throw new Error(`${what}: ${file} did not appear within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  private async startDaemons(device: string): Promise<void> {
    const ns = this.ns(device);
    const run = path.join(FRR_RUN, ns);
    mkdirSync(run, { recursive: true });
    const { uid, gid } = frrUser();
    chownSync(run, uid, gid);
    const timeout = this.options.startTimeoutMs ?? 15000;
    for (const daemon of this.options.daemons ?? (['zebra', 'bgpd', 'bfdd'] as FrrDaemon[])) {
      // No -d: `ip netns exec` execs the daemon, so the child's pid is the daemon's pid.
      const child = spawn('ip', ['netns', 'exec', ns, path.join(FRR_DIR, daemon), '-N', ns, '-P', '0',
        '--log', `file:${path.join(this.dir, `${device}-${daemon}.log`)}`], { stdio: 'ignore' });
      this.procs.push({ ns, daemon, child });
      const exited = new Promise<never>((_, reject) => child.once('exit', (code) =>
        reject(new Error(`${daemon} in ${ns} exited early (code ${code})`))));
      exited.catch(() => undefined);
      await Promise.race([this.waitFor(path.join(run, `${daemon}.vty`), timeout, `${daemon} in ${ns}`), exited]);
      if (daemon === 'zebra') await this.waitFor(path.join(run, 'zserv.api'), timeout, `zebra in ${ns}`);
    }
  }

  /** Loads a config with `vtysh -f`; every line vtysh complains about is an error. */
  loadConfig(device: string, text: string): LoadResult {
    const file = path.join(this.dir, `${device}.frr.conf`);
    writeFileSync(file, text);
    const r = spawnSync('vtysh', ['-N', this.ns(device), '-f', file], { encoding: 'utf8', timeout: 30000 });
    const errors = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n')
      .map((l) => l.trim()).filter((l) => l !== '' && !VTYSH_NOISE.test(l));
    return { ok: r.status === 0 && errors.length === 0, status: r.status, errors };
  }

  vtysh(device: string, command: string): string {
    const r = spawnSync('vtysh', ['-N', this.ns(device), '-c', command], { encoding: 'utf8', timeout: 15000 });
    if (r.status !== 0) throw new Error(`vtysh -N ${this.ns(device)} -c '${command}': exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  vtyshJson<T = unknown>(device: string, command: string): T {
    return JSON.parse(this.vtysh(device, command)) as T;
  }

  /** Pids of the daemons this lab started that are still running. */
  livePids(): number[] {
    return this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null && p.child.pid)
      .map((p) => p.child.pid as number);
  }

  /** Kills the daemons (by pid), deletes the namespaces (by name) and the run/temp dirs. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const alive = () => this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of alive()) p.child.kill('SIGTERM');
    const until = Date.now() + 5000;
    while (alive().length > 0 && Date.now() < until) await sleep(50);
    for (const p of alive()) p.child.kill('SIGKILL');
    const until2 = Date.now() + 2000;
    while (alive().length > 0 && Date.now() < until2) await sleep(50);
    for (const ns of this.namespaces) {
      // Anything else left inside our own namespace was started by us: end it by pid.
      for (const pid of nsPids(ns)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      rmSync(path.join(FRR_RUN, ns), { recursive: true, force: true });
    }
    // A veth still in the host (failure before it moved) goes with its peer.
    for (const v of this.hostVeths) spawnSync('ip', ['link', 'del', v], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** What is left of this lab on the machine (all empty after destroy()). */
  leftovers(): { namespaces: string[]; runDirs: string[]; pids: number[]; links: string[]; tempDir: boolean } {
    const nsList = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
    return {
      namespaces: nsList.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${this.tag}-`)),
      runDirs: this.namespaces.filter((ns) => existsSync(path.join(FRR_RUN, ns))),
      pids: this.livePids(),
      links: links.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => n.startsWith(this.tag)),
      tempDir: existsSync(this.dir),
    };
  }
}

function nsPids(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
}

function frrUser(): { uid: number; gid: number } {
  const uid = Number(sh('id', ['-u', 'frr']).trim());
  const gid = Number(sh('id', ['-g', 'frr']).trim());
  return { uid, gid };
}

/** Polls `check` (bounded by count and time) until it returns true; returns the last result. */
export async function pollUntil<T>(
  probe: () => T, done: (v: T) => boolean, opts: { timeoutMs: number; intervalMs: number },
): Promise<{ ok: boolean; value: T; elapsedMs: number }> {
  const start = Date.now();
  const maxTries = Math.ceil(opts.timeoutMs / opts.intervalMs) + 1;
  let value = probe();
  for (let i = 0; i < maxTries && !done(value) && Date.now() - start < opts.timeoutMs; i++) {
    await sleep(opts.intervalMs);
    value = probe();
  }
  return { ok: done(value), value, elapsedMs: Date.now() - start };
}
