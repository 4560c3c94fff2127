// Starting and stopping the twin's VM (qemu-system-x86_64, direct kernel boot).
// Network safety: the control NIC is user-mode networking with restrict=on (the guest has no
// route out; only the host's 127.0.0.1:<port> forward reaches it); the management NIC is a tap
// that ends up on mgmt0 inside the lab's own `<lab>-ctl` namespace.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { GuestChannel } from './channel';
import { guestAgentScript, guestInitScript, tsHookScript } from './guest';
import { imageCacheDir, type VmImage } from './image';

export const AGENT_PORT = 7000;
export const GUEST_CTL_IP = '10.0.2.15';
export const CTL_MAC = '52:54:00:7e:00:02';

export type Accel = 'kvm' | 'tcg';

export interface VmBootOptions {
  labName: string;
  /** Host directory for this VM: disk overlay, console log, 9p run share, pid file. */
  dir: string;
  image: VmImage;
  /** Repository shared read-only into the guest at the same path. */
  repo: string;
  /** Host tap device (already created, not yet in any namespace) for the management NIC. */
  mgmtTap: string;
  mgmtMac: string;
  accel: Accel;
  memoryMb?: number;
  cpus?: number;
  /** Seconds to wait for the guest agent (default 240: software emulation is slow). */
  bootTimeoutSeconds?: number;
  log?: (line: string) => void;
  /** Called as soon as qemu runs (before the wait for its agent): record the pid for down. */
  onStarted?: (pid: number, pidStart: string) => void;
}

export interface VmRuntime {
  pid: number;
  /** qemu's start time (/proc/<pid>/stat field 22), so a reused pid is never killed. */
  pidStart: string;
  port: number;
  token: string;
  accel: Accel;
  console: string;
  bootSeconds: number;
}

function sh(argv: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) || (err ? err.message : '') });
    });
  });
}

export function procStartOf(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A TCP port on 127.0.0.1 free right now (qemu binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/**
 * KVM or software emulation. FABRIC_VM_ACCEL=kvm|tcg forces one. Otherwise a bounded probe boots
 * the kernel under KVM and waits a few seconds for it to print (nested KVM on some machine kinds
 * hangs before the kernel's first line); the answer is cached per host boot.
 */
export async function chooseAccel(image: VmImage, log?: (l: string) => void): Promise<Accel> {
  const forced = process.env.FABRIC_VM_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  let bootId = 'unknown';
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* no boot id: probe every time */
  }
  const cache = join(imageCacheDir(), `accel-${bootId}`);
  if (existsSync(cache)) {
    const v = readFileSync(cache, 'utf8').trim();
    if (v === 'kvm' || v === 'tcg') return v;
  }
  log?.('vm: probing KVM (bounded, 8 s)');
  const ok = await new Promise<boolean>((res) => {
    const child = spawn(
      'qemu-system-x86_64',
      ['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot', '-kernel', image.kernel,
        '-append', 'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1', '-serial', 'stdio'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let seen = '';
    const done = (v: boolean) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      res(v);
    };
    const timer = setTimeout(() => done(false), 8000);
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (/Linux version/.test(seen)) done(true);
    });
    child.on('error', () => done(false));
    child.on('exit', () => done(/Linux version/.test(seen)));
  });
  const accel: Accel = ok ? 'kvm' : 'tcg';
  try {
    mkdirSync(imageCacheDir(), { recursive: true });
    writeFileSync(cache, accel + '\n');
  } catch {
    /* cache is an optimisation */
  }
  log?.(`vm: KVM ${ok ? 'works' : 'does not boot a guest here'}; using ${accel}`);
  return accel;
}

/** A copy-on-write disk over the cached image, kept across down/up while the image is the same. */
async function ensureOverlay(dir: string, image: VmImage): Promise<string> {
  const disk = join(dir, 'disk.qcow2');
  const baseFile = join(dir, 'disk.base');
  const same = existsSync(disk) && existsSync(baseFile) && readFileSync(baseFile, 'utf8').trim() === image.disk;
  if (!same) {
    const r = await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', image.disk, disk]);
    if (r.code !== 0) throw new Error(`vm: qemu-img create failed: ${r.stderr.trim()}`);
    writeFileSync(baseFile, image.disk + '\n');
  }
  return disk;
}

export function consoleTail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-lines).join(' | ');
  } catch {
    return '(no console output)';
  }
}

/** Boots the VM and resolves once its agent answers; on failure kills what it started. */
export async function bootVm(o: VmBootOptions): Promise<VmRuntime> {
  const started = Date.now();
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const run = join(o.dir, 'share');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(run, 'token'), token + '\n', { mode: 0o600 });
  writeFileSync(join(run, 'agent.js'), guestAgentScript(GUEST_CTL_IP, AGENT_PORT, '/twin/token'));
  writeFileSync(join(run, 'tshook.js'), tsHookScript(o.repo));
  writeFileSync(
    join(run, 'init.sh'),
    guestInitScript({ labName: o.labName, ctlMac: CTL_MAC, ctlAddress: `${GUEST_CTL_IP}/24`, repo: o.repo, repoTag: 'twinrepo', agentPort: AGENT_PORT }),
  );
  chmodSync(join(run, 'init.sh'), 0o755);
  const disk = await ensureOverlay(o.dir, o.image);
  const consoleLog = join(o.dir, 'console.log');
  const pidFile = join(o.dir, 'qemu.pid');
  writeFileSync(consoleLog, '');
  const port = await freePort();
  const argv = [
    'qemu-system-x86_64',
    '-name', `twin-${o.labName}`,
    '-nodefaults', '-no-user-config', '-no-reboot',
    '-accel', o.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
    '-cpu', o.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(o.cpus ?? 2),
    '-m', String(o.memoryMb ?? 2048),
    '-kernel', o.image.kernel,
    '-initrd', o.image.initrd,
    '-append', 'root=/dev/vda rw rootfstype=ext4 console=ttyS0 init=/sbin/twin-init panic=1 quiet loglevel=4 net.ifnames=0 mitigations=off',
    '-drive', `file=${disk},if=virtio,format=qcow2,cache=writeback,discard=unmap`,
    '-virtfs', `local,path=${run},mount_tag=twinrun,security_model=none,id=twinrun`,
    '-virtfs', `local,path=${o.repo},mount_tag=twinrepo,security_model=none,readonly=on,id=twinrepo`,
    '-netdev', `user,id=ctl,restrict=on,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:${port}-${GUEST_CTL_IP}:${AGENT_PORT}`,
    '-device', `virtio-net-pci,netdev=ctl,mac=${CTL_MAC}`,
    '-netdev', `tap,id=mgmt,ifname=${o.mgmtTap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=mgmt,mac=${o.mgmtMac}`,
    '-serial', `file:${consoleLog}`,
    '-display', 'none', '-monitor', 'none',
    '-daemonize', '-pidfile', pidFile,
  ];
  writeFileSync(join(o.dir, 'qemu.argv'), JSON.stringify(argv) + '\n');
  o.log?.(`vm: booting (${o.accel}, ${o.cpus ?? 2} cpus, ${o.memoryMb ?? 2048} MiB, image ${o.image.key})`);
  const r = await sh(argv, 60_000);
  if (r.code !== 0) throw new Error(`vm: qemu did not start: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const pidStart = procStartOf(pid);
  if (!pid || !pidStart) throw new Error(`vm: qemu exited at once: ${consoleTail(consoleLog)}`);
  o.onStarted?.(pid, pidStart);
  const rt: VmRuntime = { pid, pidStart, port, token, accel: o.accel, console: consoleLog, bootSeconds: 0 };
  try {
    await waitAgent(rt, (o.bootTimeoutSeconds ?? 240) * 1000);
  } catch (e) {
    await stopVm(rt);
    throw e;
  }
  rt.bootSeconds = Math.round((Date.now() - started) / 100) / 10;
  o.log?.(`vm: guest agent answers after ${rt.bootSeconds} s`);
  return rt;
}

export function channelOf(rt: Pick<VmRuntime, 'port' | 'token'>): GuestChannel {
  return new GuestChannel(rt.port, rt.token);
}

export function vmAlive(rt: Pick<VmRuntime, 'pid' | 'pidStart'>): boolean {
  return procStartOf(rt.pid) === rt.pidStart;
}

async function waitAgent(rt: VmRuntime, timeoutMs: number): Promise<void> {
  const ch = channelOf(rt);
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    if (!vmAlive(rt)) throw new Error(`vm: qemu exited during boot: ${consoleTail(rt.console)}`);
    try {
      const res = await ch.run(['true'], { hostTimeoutMs: 5000 });
      if (res.code === 0) return;
      last = res.stderr;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`vm: guest agent did not answer within ${timeoutMs / 1000} s (${last}); console: ${consoleTail(rt.console)}`);
}

/**
 * Stops qemu by pid (never by name): asks the guest to flush its disk when it still answers,
 * SIGTERM (qemu closes its disk files cleanly), SIGKILL after a grace period.
 */
export async function stopVm(rt: Pick<VmRuntime, 'pid' | 'pidStart'> & Partial<Pick<VmRuntime, 'port' | 'token'>>, graceMs = 5000): Promise<boolean> {
  if (!vmAlive(rt)) return false;
  if (rt.port && rt.token) {
    try {
      await channelOf({ port: rt.port, token: rt.token }).run(['sync'], { hostTimeoutMs: 10_000, timeoutMs: 9000 });
    } catch {
      /* guest gone or hung: the journal recovers */
    }
  }
  try {
    process.kill(rt.pid, 'SIGTERM');
  } catch {
    return false;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end && vmAlive(rt)) await new Promise((r) => setTimeout(r, 100));
  if (vmAlive(rt)) {
    try {
      process.kill(rt.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    const end2 = Date.now() + 3000;
    while (Date.now() < end2 && vmAlive(rt)) await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}
