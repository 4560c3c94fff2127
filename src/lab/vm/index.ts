// The twin's `vm` backend: the same namespaces the netns backend builds, inside a Debian VM
// (qemu, Debian's stock kernel, cached debootstrap image; KVM when it boots, else TCG).
// `<lab>-ctl` and its bridge mgmt0 stay on the host; a tap on mgmt0 is the VM's management NIC,
// bridged inside the VM to every device's eth0, so the host sees one management segment.
// Host-side layout under the lab directory (src/lab/state.ts):
//   lab.json (backend vm, extra.vm = pid, port, tap, ...), run/namespaces, run/pids (qemu),
//   vm/disk.qcow2 (the guest's disk over the cached image: survives down/up), vm/console.log,
//   vm/share/ (9p share, /twin in the guest: init, agent, driver, token, transpiled JS).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabBackend, LabStatus, LabUpOptions, LabUpResult, NodeStatus } from '../backend';
import { managementPlan, type Topology } from '../topology';
import { LabPaths, ensureDir, readRecord, recordNamespace, recordPidTo, recordedNamespaces, recordedPids, killRecorded, writeRecord, type LabRecord } from '../state';
import { must, run, sleep } from '../sh';
import { GuestChannel, type GuestRunOptions, type GuestRunResult } from './channel';
import { guestDriverScript } from './guest';
import { packGuestApp, prepareGuestApp, timeoutScaleScript } from './guestjs';
import { ensureImage, imageCacheDir, repoRoot } from './image';
import { bootVm, channelOf, chooseAccel, consoleTail, procStartOf, stopVm, vmAlive } from './qemu';

export { ensureImage, repoRoot } from './image';
export { GuestChannel } from './channel';
export type { GuestRunResult } from './channel';

export class VmLabError extends Error {}

/** What the host keeps about a running VM in lab.json (`extra.vm`). */
export interface VmRecord {
  pid: number;
  pidStart: string;
  port: number;
  tap: string;
  mgmtMac: string;
  accel: string;
  image: string;
  bootSeconds: number;
}

const GUEST_SHARE = '/twin';
const GUEST_LAB_ROOT = '/var/lib/twin/labs';
const GUEST_NODE = '/usr/local/bin/node';
const GUEST_APP_ROOT = '/opt/twin';

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new VmLabError('the twin needs root (network namespaces, tap devices, qemu): run it as root, e.g. sudo npm run lab -- ...');
  }
}

/** Host tap name before it moves into `<lab>-ctl` (lab names are at most 8 characters). */
export function tapName(lab: string): string {
  return `${lab}-vmt`;
}

/** A stable, locally administered MAC per lab for the VM's management NIC. */
export function mgmtMacOf(lab: string): string {
  let h = 0x811c9dc5;
  for (const c of lab) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const b = [(h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255];
  return ['52', '54', '01', ...b.slice(1).map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

async function listNamespaces(): Promise<Set<string>> {
  const r = await run(['ip', '-j', 'netns', 'list']);
  try {
    return new Set((JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name));
  } catch {
    return new Set(r.stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
  }
}

function vmDir(p: LabPaths): string {
  return join(p.dir, 'vm');
}

function vmRecordOf(rec: LabRecord | undefined): VmRecord | undefined {
  const v = rec?.extra?.vm as VmRecord | undefined;
  return v && typeof v.pid === 'number' ? v : undefined;
}

function tokenOf(p: LabPaths): string | undefined {
  try {
    return readFileSync(join(vmDir(p), 'share', 'token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** How much slower than a native kernel the guest is taken to be (LAB_TIMEOUT_SCALE overrides). */
export function timeoutScale(accel: string | undefined): number {
  const forced = Number(process.env.LAB_TIMEOUT_SCALE);
  if (forced > 0) return forced;
  return accel === 'kvm' ? 1 : 6;
}

export class VmBackend implements LabBackend {
  readonly kind = 'vm' as const;

  async cannotCarry(_topo: Topology): Promise<string | undefined> {
    requireRoot();
    if (_topo.routers?.length) return 'outside routers (topology routers:) run on the netns backend only';
    const missing: string[] = [];
    for (const c of ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'mkfs.ext4']) {
      const r = await run(['sh', '-c', `command -v ${c}`]);
      if (r.code !== 0) missing.push(c);
    }
    if (missing.length) return `the vm backend needs ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs)`;
    return undefined;
  }

  /** The guest channel of a running lab (throws when its VM is not running). */
  channel(name: string, root?: string): GuestChannel {
    const p = new LabPaths(name, root);
    const v = vmRecordOf(readRecord(p));
    const token = tokenOf(p);
    if (!v || !token || !vmAlive(v)) throw new VmLabError(`lab ${name}: its VM is not running (${p.dir})`);
    return new GuestChannel(v.port, token);
  }

  async up(topo: Topology, opts: LabUpOptions): Promise<LabUpResult> {
    requireRoot();
    const t0 = Date.now();
    const log = opts.log ?? (() => undefined);
    const why = await this.cannotCarry(topo);
    if (why) throw new VmLabError(`lab ${topo.name}: ${why}`);
    if (opts.running) throw new VmLabError(`lab ${topo.name}: --running is not supported by the vm backend yet (use --backend netns)`);
    if (opts.preconfigured && (!topo.credentials || !topo.snmp)) {
      throw new VmLabError(`lab ${topo.name}: --preconfigured needs credentials and snmp in the topology file`);
    }
    const p = new LabPaths(topo.name, opts.root);
    const prev = readRecord(p);
    const prevVm = vmRecordOf(prev);
    const ctl = `${topo.name}-ctl`;
    const present = await listNamespaces();
    if ((prevVm && vmAlive(prevVm)) || (prev && recordedNamespaces(p).some((n) => present.has(n)))) {
      throw new VmLabError(`lab ${topo.name} is already up (${p.dir}); run: npm run lab -- down ${topo.name}`);
    }
    if (present.has(ctl)) throw new VmLabError(`lab ${topo.name}: namespace ${ctl} already exists and is not this lab's`);

    const image = await ensureImage({ log, timeoutMs: 30 * 60_000 });
    if (image.built) log(`vm: image built in ${image.buildSeconds ?? '?'} s (${image.dir})`);
    const accel = await chooseAccel(image, log);
    const plan = managementPlan(topo);
    const tap = tapName(topo.name);
    const mgmtMac = mgmtMacOf(topo.name);
    rmSync(p.runDir, { recursive: true, force: true });
    ensureDir(p.runDir);
    const rec: LabRecord = {
      name: topo.name, backend: 'vm', createdAt: new Date().toISOString(), preconfigured: !!opts.preconfigured,
      topology: topo, managementIps: opts.preconfigured ? plan.devices : {}, extra: { tap },
    };
    writeRecord(p, rec);
    try {
      // 1. the host side of the management network: <lab>-ctl with mgmt0, no route out
      recordNamespace(p, ctl);
      await must(['ip', 'netns', 'add', ctl]);
      await must(['ip', '-n', ctl, '-batch', '-'], {
        input: [
          'link set lo up',
          'link add mgmt0 type bridge stp_state 0 forward_delay 0',
          `addr add ${topo.management.gateway}/${plan.prefixLen} dev mgmt0`,
          'link set mgmt0 up',
          'route add 255.255.255.255/32 dev mgmt0',
        ].join('\n') + '\n',
      });
      await run(['ip', 'link', 'del', tap]); // a leftover of a crashed up
      await must(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      // 2. the VM (its tap is opened by qemu here, then moved onto mgmt0 in <lab>-ctl)
      const rt = await bootVm({
        labName: topo.name, dir: vmDir(p), image, repo: repoRoot(), mgmtTap: tap, mgmtMac, accel, log,
        memoryMb: Number(process.env.FABRIC_VM_MEMORY_MB ?? 0) || Math.min(4096, 1024 + 256 * (topo.devices.length + topo.servers.length)),
        cpus: Number(process.env.FABRIC_VM_CPUS ?? 2),
        onStarted: (pid) => recordPidTo(p.pidFile, pid, 'vm', 'qemu'),
      });
      const vm: VmRecord = { pid: rt.pid, pidStart: rt.pidStart, port: rt.port, tap, mgmtMac, accel: rt.accel, image: image.key, bootSeconds: rt.bootSeconds };
      rec.extra = { tap, vm };
      writeRecord(p, rec);
      await must(['ip', 'link', 'set', tap, 'netns', ctl]);
      await must(['ip', '-n', ctl, 'link', 'set', tap, 'master', 'mgmt0']);
      await must(['ip', '-n', ctl, 'link', 'set', tap, 'up']);
      // 3. the devices, by the netns backend inside the VM
      const res = (await this.driver(p, rt.port, rt.token, 'up', {
        // the wait for devices is sized for a native kernel too: scaled like the guest's other waits
        name: topo.name, topology: topo, preconfigured: !!opts.preconfigured, timeoutSeconds: (opts.timeoutSeconds ?? 180) * timeoutScale(rt.accel),
      }, log)) as LabUpResult;
      if (opts.preconfigured) rec.managementIps = res.managementIps;
      writeRecord(p, rec);
      const seconds = (Date.now() - t0) / 1000;
      const hints = [
        `lab ${topo.name} up in ${seconds.toFixed(1)} s (vm, ${rt.accel}; VM booted in ${rt.bootSeconds} s): ${topo.devices.length} devices, ${topo.servers.length} servers`,
        `controller namespace on this host: ${ctl}, bridge mgmt0, gateway ${topo.management.gateway} (the devices sit behind the VM's NIC on it)`,
        ...res.hints.filter((h) => !/^lab \S+ up in|^controller namespace/.test(h)),
        `VM console: ${rt.console}`,
      ];
      return { name: topo.name, backend: 'vm', dir: p.dir, managementIps: res.managementIps, hints, seconds };
    } catch (e) {
      log(`up failed, removing what was made: ${(e as Error).message}`);
      await this.down(topo.name, { root: opts.root, log });
      throw e;
    }
  }

  /** Ships the project's code into the guest's disk unless it is already there (by content hash). */
  private async guestApp(p: LabPaths, ch: GuestChannel, log: (l: string) => void): Promise<string> {
    const repo = repoRoot();
    // staging of transpiled sources: one per repository, shared by its labs (cheap second up)
    const staging = join(imageCacheDir(), 'js', createHash('sha256').update(repo).digest('hex').slice(0, 12));
    const app = prepareGuestApp(repo, staging, ['src/lab/netns.js', 'src/lab/agent/main.js']);
    const dir = `${GUEST_APP_ROOT}/app-${app.hash}`;
    const have = await ch.run(['test', '-f', `${dir}/.complete`], { hostTimeoutMs: 60_000 });
    if (have.code === 0) return dir;
    const t = Date.now();
    const tar = await packGuestApp(app, repo);
    await ch.check(['sh', '-c', `rm -rf ${dir}.tmp && mkdir -p ${dir}.tmp && tar -xzf - -C ${dir}.tmp`], { input: tar, timeoutMs: 600_000, hostTimeoutMs: 610_000 });
    await ch.check(['sh', '-c', `cat > ${dir}.tmp/twin-scale.js && touch ${dir}.tmp/.complete && rm -rf ${dir} && mv ${dir}.tmp ${dir}`], { input: timeoutScaleScript(dir), hostTimeoutMs: 60_000 });
    log(`vm: shipped ${app.files.length} files and ${app.packages.length} packages (${Math.round(tar.length / 1024)} KiB) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return dir;
  }

  /** Runs the guest driver (netns code inside the VM); progress lines go to log. */
  private async driver(p: LabPaths, port: number, token: string, op: 'up' | 'down' | 'status', req: object, log: (l: string) => void, timeoutMs = 15 * 60_000): Promise<unknown> {
    const share = join(vmDir(p), 'share');
    const ch = new GuestChannel(port, token);
    const appDir = await this.guestApp(p, ch, log);
    const accel = vmRecordOf(readRecord(p))?.accel;
    writeFileSync(join(share, 'driver.js'), guestDriverScript(`${appDir}/src/lab/netns.js`, GUEST_LAB_ROOT, mgmtMacOf(p.name), GUEST_NODE));
    const reqFile = `req-${op}-${process.pid}-${Date.now()}.json`;
    writeFileSync(join(share, reqFile), JSON.stringify(req), { mode: 0o600 });
    try {
      const r = await ch.run([GUEST_NODE, `${GUEST_SHARE}/driver.js`, op, `${GUEST_SHARE}/${reqFile}`], {
        env: {
          LAB_DIR: GUEST_LAB_ROOT,
          NODE_OPTIONS: `--require ${appDir}/twin-scale.js`,
          // the netns code's waits were sized for a native kernel; software emulation is ~5-10x slower
          LAB_TIMEOUT_SCALE: String(timeoutScale(accel)),
        },
        timeoutMs,
        hostTimeoutMs: timeoutMs + 10_000,
        onStderrLine: (l) => l.trim() && log(`  [vm] ${l}`),
      });
      const lines = r.stdout.split('\n');
      const res = lines.find((l) => l.startsWith('@@result '));
      if (res && r.code === 0) return JSON.parse(res.slice('@@result '.length));
      const err = lines.find((l) => l.startsWith('@@error '));
      const why = err ? (JSON.parse(err.slice('@@error '.length)) as string) : (r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.code}`);
      throw new VmLabError(`in the VM, ${op} failed: ${why}`);
    } finally {
      rmSync(join(share, reqFile), { force: true });
    }
  }

  async down(name: string, opts: { root?: string; log?: (line: string) => void } = {}): Promise<void> {
    requireRoot();
    const log = opts.log ?? (() => undefined);
    const p = new LabPaths(name, opts.root);
    const rec = readRecord(p);
    const v = vmRecordOf(rec);
    // 1. the VM (everything inside it goes with it): by recorded pid and start time only
    let stopped = false;
    if (v) stopped = await stopVm({ pid: v.pid, pidStart: v.pidStart, port: v.port, token: tokenOf(p) });
    const left = recordedPids(p.pidFile);
    const killed = await killRecorded(left, 3000);
    // 2. the host side: whatever runs in our <lab>-ctl (e.g. a service started there), the namespace
    const present = await listNamespaces();
    const nss = [...new Set([...recordedNamespaces(p), ...(rec ? [`${name}-ctl`] : [])])].filter((n) => present.has(n));
    for (const n of nss) {
      const r = await run(['ip', 'netns', 'pids', n]);
      for (const pid of r.stdout.split('\n').map(Number).filter((x) => x > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      for (let i = 0; i < 20; i++) {
        const d = await run(['ip', 'netns', 'del', n]);
        if (d.code === 0 || !(await listNamespaces()).has(n)) break;
        await sleep(100);
      }
    }
    // 3. a tap that never reached <lab>-ctl (crash between its creation and the move)
    const tap = (rec?.extra?.tap as string | undefined) ?? tapName(name);
    if (existsSync(`/sys/class/net/${tap}`)) await run(['ip', 'link', 'del', tap]);
    rmSync(p.runDir, { recursive: true, force: true });
    rmSync(join(vmDir(p), 'share'), { recursive: true, force: true });
    rmSync(join(vmDir(p), 'qemu.pid'), { force: true });
    rmSync(p.record, { force: true });
    log(`lab ${name} down: VM ${stopped ? 'stopped' : 'not running'}, ${killed} other processes, ${nss.length} host namespaces removed`);
  }

  async status(name: string, opts: { root?: string } = {}): Promise<LabStatus> {
    const p = new LabPaths(name, opts.root);
    const rec = readRecord(p);
    if (!rec) throw new VmLabError(`lab ${name}: no such lab under ${p.dir}`);
    const v = vmRecordOf(rec);
    const token = tokenOf(p);
    const management = { cidr: rec.topology.management.cidr, gateway: rec.topology.management.gateway, namespace: `${name}-ctl`, bridge: 'mgmt0' as const };
    if (v && token && vmAlive(v)) {
      const st = (await this.driver(p, v.port, token, 'status', { name }, () => undefined, 120_000)) as LabStatus;
      return { ...st, name, backend: 'vm', dir: p.dir, management, running: st.running };
    }
    const nodes: NodeStatus[] = [
      ...rec.topology.devices.map((d): NodeStatus => ({ name: d.name, kind: 'device', namespace: `${name}-${d.name}`, state: 'down', serial: d.serial, model: d.profile })),
      ...rec.topology.servers.map((s): NodeStatus => ({ name: s.name, kind: 'server', namespace: `${name}-${s.name}` })),
    ];
    return { name, backend: 'vm', running: false, dir: p.dir, management, nodes };
  }

  /** Runs argv in a node's namespace (ctl: on the host) with inherited stdio; the exit code. */
  async exec(name: string, node: string, argv: string[], opts: { root?: string } = {}): Promise<number> {
    requireRoot();
    this.checkNode(name, node, argv, opts.root);
    if (node === 'ctl') {
      return new Promise((resolveP, reject) => {
        const child = spawn('ip', ['netns', 'exec', `${name}-ctl`, ...argv], { stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', (code, sig) => resolveP(code ?? (sig ? 128 : 1)));
      });
    }
    const r = await this.channel(name, opts.root).run(argv, { netns: node === 'vm' ? undefined : `${name}-${node}`, stdio: 'inherit' });
    return r.code ?? 128;
  }

  /** Like exec, with output captured (for tests and tools). ctl runs on the host. */
  async execCapture(name: string, node: string, argv: string[], opts: { root?: string } & Omit<GuestRunOptions, 'netns' | 'stdio'> = {}): Promise<GuestRunResult> {
    requireRoot();
    this.checkNode(name, node, argv, opts.root);
    const { root, ...rest } = opts;
    if (node === 'ctl') {
      const r = await run(['ip', 'netns', 'exec', `${name}-ctl`, ...argv], { timeoutMs: opts.timeoutMs ?? 60_000, input: typeof opts.input === 'string' ? opts.input : undefined });
      return { code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr };
    }
    return this.channel(name, root).run(argv, { ...rest, netns: node === 'vm' ? undefined : `${name}-${node}` });
  }

  private checkNode(name: string, node: string, argv: string[], root?: string): void {
    const p = new LabPaths(name, root);
    const rec = readRecord(p);
    if (!rec) throw new VmLabError(`lab ${name}: no such lab under ${p.dir}`);
    const known = node === 'ctl' || node === 'vm' || rec.topology.devices.some((d) => d.name === node) || rec.topology.servers.some((s) => s.name === node);
    if (!known) throw new VmLabError(`lab ${name}: no node "${node}" (nodes: ctl, vm, ${[...rec.topology.devices, ...rec.topology.servers].map((x) => x.name).join(', ')})`);
    if (!argv.length) throw new VmLabError('exec: give a command after --');
  }
}

export const vmBackend = new VmBackend();
export { bootVm, stopVm, chooseAccel, channelOf, consoleTail, procStartOf };
