// One twin device, seen from inside its namespace: its daemons (FRR, snmpd, lldpd, dhclient),
// the bootstrap, and applying a committed `frr` config to FRR and the kernel. Every process it
// starts is recorded in the lab's pid file at once, so `lab down` finds it even after a crash.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, chownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bootstrap } from '../ztp';
import { DHCLIENT_SCRIPT, dhclientConf } from '../ztp';
import { recordPidTo, isAlive, killRecorded, procStart, type PidEntry } from '../state';
import { must, run, spawnDaemon, sleep, waitFor } from '../sh';
import { removalScript, canonical } from './frrconf';
import { parseInterfaces, planReconcile, featuresNeeded, EMPTY_NETDEV_STATE, type NetdevState, InterfacesError } from './interfaces';
import { kernelFeatures, missingFeatures, describeMissing } from '../kernel';
import { applyPortFilters, checkPortFilters, FilterError } from './filters';

/** Written by `lab up` into the node's run directory (device.json). */
export interface DeviceConfig {
  lab: string;
  node: string;
  namespace: string;
  serial: string;
  vendor: string;
  model: string;
  vendorClass: string;
  /** front-panel ports cabled in the topology */
  ports: string[];
  runDir: string;
  stateDir: string;
  labPidFile: string;
  /** brownfield: address and bootstrap applied at once */
  preconfigured?: { address: string; prefixLen: number; bootstrap: Bootstrap; running?: { frrConf: string; interfaces: string } };
  /** seconds NETCONF stays away during a simulated reboot */
  rebootSeconds?: number;
  /** LLDP transmit interval (s) */
  lldpTxInterval?: number;
}

/** Persistent device state (survives a simulated reboot). Mode 0600: it holds the credentials. */
export interface DeviceState {
  bootstrap?: Bootstrap;
  managementIp?: string;
  prefixLen?: number;
  osVersion?: string;
  /** committed `frr` config (frr.conf text + interfaces text) */
  running: { frrConf: string; interfaces: string };
  netdev: NetdevState;
}

export type Phase = 'factory-default' | 'bootstrapped' | 'configured' | 'rebooting';

export interface FrrConfig { frrConf: string; interfaces: string }

export class ValidationError extends Error {}

const FRR_DAEMONS = ['zebra', 'bgpd', 'bfdd'] as const;

export function frrVersion(): string {
  try {
    const out = require('node:child_process').execFileSync('dpkg-query', ['-W', '-f=${Version}', 'frr'], { encoding: 'utf8' }) as string;
    return out.split(/[-~]/)[0] || '8.4.4';
  } catch {
    return '8.4.4';
  }
}

export class Device {
  readonly cfg: DeviceConfig;
  state: DeviceState;
  phase: Phase = 'factory-default';
  /** What status.json shows while booting (until NETCONF listens): factory-default or rebooting. */
  statusOverride?: Phase;
  private pids = new Map<string, PidEntry>();
  private log: (m: string) => void;

  constructor(cfg: DeviceConfig, log: (m: string) => void) {
    this.cfg = cfg;
    this.log = log;
    mkdirSync(cfg.runDir, { recursive: true });
    mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
    this.state = this.loadState();
    if (!this.state.osVersion) this.state.osVersion = frrVersion();
  }

  // ------------------------------------------------------------------ persistent state
  private get statePath(): string { return join(this.cfg.stateDir, 'device-state.json'); }

  private loadState(): DeviceState {
    if (existsSync(this.statePath)) return JSON.parse(readFileSync(this.statePath, 'utf8')) as DeviceState;
    return { running: { frrConf: '', interfaces: '' }, netdev: { ...EMPTY_NETDEV_STATE } };
  }

  saveState(): void {
    writeFileSync(this.statePath + '.tmp', JSON.stringify(this.state), { mode: 0o600 });
    renameSync(this.statePath + '.tmp', this.statePath);
    this.writeStatus();
  }

  /** Public status for `lab status` (no secrets). */
  writeStatus(extra: Record<string, unknown> = {}): void {
    const s = {
      node: this.cfg.node,
      phase: this.statusOverride ?? this.phase,
      managementIp: this.state.managementIp,
      hostname: this.hostname(),
      serial: this.cfg.serial,
      model: this.cfg.model,
      osVersion: this.state.osVersion,
      agentPid: process.pid,
      at: new Date().toISOString(),
      ...extra,
    };
    writeFileSync(join(this.cfg.runDir, 'status.json.tmp'), JSON.stringify(s));
    renameSync(join(this.cfg.runDir, 'status.json.tmp'), join(this.cfg.runDir, 'status.json'));
  }

  hostname(): string {
    return this.state.bootstrap?.hostname ?? this.cfg.serial;
  }

  // ------------------------------------------------------------------ processes
  private spawn(what: string, argv: string[], env?: NodeJS.ProcessEnv): number {
    const pid = spawnDaemon(argv, join(this.cfg.runDir, `${what}.log`), env);
    recordPidTo(this.cfg.labPidFile, pid, this.cfg.node, what);
    this.pids.set(what, { pid, start: procStart(pid) ?? '?', node: this.cfg.node, what });
    return pid;
  }

  private async stop(what: string): Promise<void> {
    const e = this.pids.get(what);
    if (!e) return;
    this.pids.delete(what);
    await killRecorded([e], 3000);
  }

  running(what: string): boolean {
    const e = this.pids.get(what);
    return !!e && isAlive(e);
  }

  processes(): PidEntry[] {
    return [...this.pids.values()].filter(isAlive);
  }

  /**
   * Sockets live in /run/twin/<namespace>/ (0755): short paths (unix sockets take 107 bytes at
   * most) and reachable by lldpd's unprivileged child whatever the lab root's mode.
   */
  get sockDir(): string { return `/run/twin/${this.cfg.namespace}`; }

  // ------------------------------------------------------------------ FRR
  private get frrRun(): string { return `/var/run/frr/${this.cfg.namespace}`; }
  private get frrEtc(): string { return `/etc/frr/${this.cfg.namespace}`; }

  vtysh(args: string[]): string[] {
    return ['vtysh', '-N', this.cfg.namespace, ...args];
  }

  async startFrr(): Promise<void> {
    const ids = frrIds();
    for (const d of [this.frrRun, this.frrEtc]) {
      mkdirSync(d, { recursive: true });
      if (ids) chownSync(d, ids.uid, ids.gid);
    }
    for (const f of ['zebra.pid', 'bgpd.pid', 'bfdd.pid']) rmSync(join(this.frrRun, f), { force: true });
    // an empty vtysh.conf keeps vtysh quiet; frr.conf is never read (config arrives through vtysh -f)
    const vconf = join(this.frrEtc, 'vtysh.conf');
    if (!existsSync(vconf)) writeFileSync(vconf, '');
    // BGP4-MIB (frr-snmp): bgpd is an AgentX subagent of this device's snmpd, which starts later
    // (bootstrap): it pings the master every 5 s and connects once the socket is there. net-snmp
    // reads its `frr.conf` when `agentx` is configured, after bgpd dropped to user frr: in frr's dir.
    const snmpDir = bgpdSnmpModule() ? join(this.frrRun, 'snmp') : undefined;
    if (snmpDir) {
      mkdirSync(snmpDir, { recursive: true });
      writeFileSync(join(snmpDir, 'frr.conf'), `agentXSocket unix:${join(this.sockDir, 'agentx.sock')}\nagentXPingInterval 5\n`);
      if (ids) { chownSync(snmpDir, ids.uid, ids.gid); chownSync(join(snmpDir, 'frr.conf'), ids.uid, ids.gid); }
    }
    for (const d of FRR_DAEMONS) {
      const extra = d === 'zebra' ? ['-F', 'datacenter'] : ['-F', 'datacenter'];
      const snmp = d === 'bgpd' && snmpDir ? ['-M', 'snmp'] : [];
      this.spawn(d, [`/usr/lib/frr/${d}`, '-N', this.cfg.namespace, '--log', 'stdout', ...extra, ...snmp],
        snmp.length ? { ...process.env, SNMPCONFPATH: snmpDir, MIBS: '' } : undefined);
    }
    await waitFor('FRR vty sockets', () => FRR_DAEMONS.every((d) => existsSync(join(this.frrRun, `${d}.vty`))), 30_000, 50);
    await waitFor('vtysh', async () => (await run(this.vtysh(['-c', 'show version']), { timeoutMs: 5000 })).code === 0, 30_000, 100);
    // bgpd registers its BFD sessions through zebra; one made before bfdd has connected to
    // zebra can be lost on a busy host (no BFD peer ever appears), so load nothing until
    // zebra lists both clients.
    await waitFor('bgpd and bfdd connected to zebra', async () => {
      const out = (await run(this.vtysh(['-c', 'show zebra client summary']), { timeoutMs: 5000 })).stdout;
      return /^bgp\s/m.test(out) && /^bfd\s/m.test(out);
    }, 30_000, 100);
    // Routes with their nexthops inline, not as kernel nexthop objects: after a peer's reboot
    // flapped this box's ports, zebra 8.4 installed ECMP routes against nexthop groups the
    // kernel had dropped with the link, and the kernel rejected them (`B>r` in show ip route;
    // found by test/lab/day2-twin.test.ts: a spine never got its RR session back).
    await run(this.vtysh(['-c', 'configure terminal', '-c', 'no zebra nexthop kernel enable']), { timeoutMs: 10_000 });
    // bgpd only: zebra and bfdd have no SNMP module and would refuse the command
    if (snmpDir) await run(['vtysh', '-N', this.cfg.namespace, '-d', 'bgpd', '-c', 'configure terminal', '-c', 'agentx'], { timeoutMs: 10_000 });
  }

  async stopFrr(): Promise<void> {
    await Promise.all(FRR_DAEMONS.map((d) => this.stop(d)));
  }

  // ------------------------------------------------------------------ management and bootstrap
  async setManagementAddress(ip: string, prefixLen: number): Promise<void> {
    await must(['ip', 'link', 'set', 'eth0', 'up']);
    await must(['ip', 'addr', 'replace', `${ip}/${prefixLen}`, 'dev', 'eth0']);
    this.state.managementIp = ip;
    this.state.prefixLen = prefixLen;
  }

  async startDhclient(): Promise<void> {
    const script = join(this.cfg.runDir, 'dhclient-script');
    writeFileSync(script, DHCLIENT_SCRIPT, { mode: 0o755 });
    const conf = join(this.cfg.runDir, 'dhclient.conf');
    writeFileSync(conf, dhclientConf(this.cfg.vendorClass, this.cfg.serial));
    this.spawn('dhclient', [
      'dhclient', '-4', '-d', '-v', '-sf', script, '-cf', conf,
      '-lf', join(this.cfg.runDir, 'dhclient.leases'), '-pf', join(this.cfg.runDir, 'dhclient.pid'),
      '-e', `LAB_RUN=${this.cfg.runDir}`, 'eth0',
    ]);
  }

  async stopDhclient(): Promise<void> {
    await this.stop('dhclient');
  }

  /** Applies a bootstrap: host name, snmpd (v2c + v3), lldpd over AgentX; NETCONF is the caller's. */
  /** Sets the host name of the device's own UTS namespace (the agent runs under `unshare --uts`). */
  async setHostname(name: string): Promise<void> {
    const r = await run(['hostname', name]);
    if (r.code !== 0) this.log(`hostname ${name}: ${r.stderr.trim()}`);
    // FRR read the host name when it started: tell it too (BGP hostname capability, prompts)
    if (this.running('zebra')) await run(this.vtysh(['-c', 'configure terminal', '-c', `hostname ${name}`]), { timeoutMs: 10_000 });
  }

  async applyBootstrap(b: Bootstrap): Promise<void> {
    this.state.bootstrap = b;
    await this.setHostname(this.hostname());
    if (!this.state.managementIp) throw new Error('no management address');
    await this.startSnmpd();
    if (b.lldp) await this.startLldpd();
    writeFileSync(join(this.cfg.runDir, 'bootstrapped'), '');
    if (this.phase === 'factory-default') this.phase = this.state.running.frrConf || this.state.running.interfaces ? 'configured' : 'bootstrapped';
    this.saveState();
  }

  sysDescr(): string {
    return `FRR-switch ${this.cfg.model} serial ${this.cfg.serial} version ${this.state.osVersion}`;
  }

  private async startSnmpd(): Promise<void> {
    const b = this.state.bootstrap!;
    mkdirSync(this.sockDir, { recursive: true, mode: 0o755 });
    const persist = join(this.cfg.stateDir, 'snmp');
    mkdirSync(persist, { recursive: true, mode: 0o700 });
    const conf = join(this.cfg.runDir, 'snmpd.conf');
    const lines = [
      `agentAddress udp:${this.state.managementIp}:161`,
      `sysName ${this.hostname()}`,
      `sysDescr ${this.sysDescr()}`,
      'sysObjectID 1.3.6.1.4.1.8072.3.2.10',
      'sysLocation digital twin',
      `sysContact lab ${this.cfg.lab}`,
      'master agentx',
      `agentXSocket unix:${join(this.sockDir, 'agentx.sock')}`,
      // bgpd (user frr) is a subagent too (BGP4-MIB)
      frrIds() ? 'agentXPerms 0660 0770 root frr' : 'agentXPerms 0660 0770',
    ];
    if (b.snmp.community) lines.push(`rocommunity ${b.snmp.community} default`);
    if (b.snmp.v3) {
      lines.push(`createUser ${b.snmp.v3.user} SHA "${b.snmp.v3.authKey}" AES "${b.snmp.v3.privKey}"`);
      lines.push(`rouser ${b.snmp.v3.user} priv`);
    }
    writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });
    this.spawn('snmpd', ['snmpd', '-f', '-C', '-c', conf, '-Lf', join(this.cfg.runDir, 'snmpd.daemon.log'), '-p', join(this.cfg.runDir, 'snmpd.pid')],
      { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: persist });
    await waitFor('snmpd AgentX socket', () => existsSync(join(this.sockDir, 'agentx.sock')), 20_000, 50);
  }

  private async startLldpd(): Promise<void> {
    const sock = join(this.sockDir, 'lldpd.sock');
    const conf = join(this.sockDir, 'lldpd.conf');
    writeFileSync(conf, [
      `configure system hostname ${this.hostname()}`,
      `configure system description "${this.sysDescr()}"`,
      `configure system platform ${this.cfg.model}`,
      'configure lldp portidsubtype ifname',
      `configure lldp tx-interval ${this.cfg.lldpTxInterval ?? 5}`,
      `configure system ip management pattern ${this.state.managementIp}`,
      '',
    ].join('\n'));
    const ifaces = this.cfg.ports.length ? this.cfg.ports.join(',') : 'swp*';
    this.spawn('lldpd', ['lldpd', '-d', '-u', sock, '-X', join(this.sockDir, 'agentx.sock'), '-I', ifaces, '-O', conf]);
    await waitFor('lldpd socket', async () => existsSync(sock) && (await run(['lldpcli', '-u', sock, 'show', 'configuration'], { timeoutMs: 3000 })).code === 0, 20_000, 100);
  }

  async stopManagementDaemons(): Promise<void> {
    await Promise.all([this.stop('lldpd'), this.stop('snmpd')]);
    rmSync(join(this.sockDir, 'agentx.sock'), { force: true });
    rmSync(join(this.sockDir, 'lldpd.sock'), { force: true });
  }

  // ------------------------------------------------------------------ config validate / apply
  /** FRR's own syntax check (vtysh --dryrun) plus interfaces parsing and kernel capability. */
  async validate(c: FrrConfig): Promise<void> {
    let ifaces;
    try {
      ifaces = parseInterfaces(c.interfaces);
    } catch (e) {
      if (e instanceof InterfacesError) throw new ValidationError(e.message);
      throw e;
    }
    const need = featuresNeeded(ifaces);
    const have = await kernelFeatures({ inside: true, only: need });
    const missing = missingFeatures(have, need);
    if (missing.length) {
      throw new ValidationError(`interfaces: this kernel lacks ${describeMissing(missing)}; run the lab with --backend vm`);
    }
    try {
      await checkPortFilters(c.interfaces);
    } catch (e) {
      if (e instanceof FilterError) throw new ValidationError(e.message);
      throw e;
    }
    if (c.frrConf.trim()) {
      const f = join(this.cfg.runDir, 'validate.conf');
      writeFileSync(f, c.frrConf);
      const r = await run(this.vtysh(['--dryrun', '-f', f]), { timeoutMs: 20_000 });
      if (r.code !== 0) {
        const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^line \d+:/.test(l)).slice(0, 5);
        throw new ValidationError(`frr-conf: ${lines.join('; ') || (r.stderr || r.stdout).trim().split('\n').pop()}`);
      }
    }
  }

  /**
   * Makes the kernel and FRR carry `next` (the previous config is this.state.running): kernel
   * netdevs first (FRR's interface stanzas may name them), then FRR removals (errors tolerated)
   * and the whole new config (strict). Throws on failure; the caller re-applies the previous.
   */
  async apply(next: FrrConfig): Promise<void> {
    const prev = this.state.running;
    const ifaces = parseInterfaces(next.interfaces);
    const links = JSON.parse((await must(['ip', '-j', 'link', 'show'])) || '[]') as { ifname: string }[];
    const existing = new Set(links.map((l) => l.ifname));
    const plan = planReconcile(ifaces, this.state.netdev, existing);
    const failed = await runNetdevCommands(plan.commands);
    if (failed) {
      this.state.netdev = mergeNetdev(this.state.netdev, plan.state);
      this.saveState();
      throw new Error(`interfaces: ${failed.argv.join(' ')}: ${failed.stderr.trim()}`);
    }
    this.state.netdev = plan.state;
    // Security groups (nftables) once the netdevs they name exist; a failure rolls back like any.
    await applyPortFilters(next.interfaces, prev.interfaces);
    const removal = removalScript(prev.frrConf, next.frrConf);
    if (removal) {
      const f = join(this.cfg.runDir, 'removal.conf');
      writeFileSync(f, removal);
      const r = await run(this.vtysh(['-f', f]), { timeoutMs: 60_000 });
      if (r.code !== 0) this.log(`frr removals reported: ${(r.stdout + r.stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
    }
    if (next.frrConf.trim()) {
      const f = join(this.cfg.runDir, 'apply.conf');
      writeFileSync(f, next.frrConf);
      const r = await run(this.vtysh(['-f', f]), { timeoutMs: 60_000 });
      if (r.code !== 0) {
        const lines = (r.stdout + r.stderr).split('\n').filter((l) => /^line \d+:|%/.test(l)).slice(0, 5);
        throw new Error(`frr-conf: ${lines.join('; ') || 'vtysh failed'}`);
      }
    }
    this.state.running = { frrConf: next.frrConf, interfaces: next.interfaces };
    this.phase = canonical(next.frrConf) || next.interfaces.trim() ? 'configured' : 'bootstrapped';
    this.saveState();
  }

  // ------------------------------------------------------------------ operational state
  async vtyshJson(cmd: string): Promise<unknown> {
    const r = await run(this.vtysh(['-c', cmd]), { timeoutMs: 15_000 });
    if (r.code !== 0) return undefined;
    try { return JSON.parse(r.stdout); } catch { return undefined; }
  }

  /**
   * Several JSON show commands through one vtysh (each vtysh start connects to every daemon:
   * seconds under emulation, and a NETCONF get asks for three). Falls back to one vtysh per
   * command when the output does not split into one document per command.
   */
  async vtyshJsonMany(cmds: string[]): Promise<unknown[]> {
    const r = await run(this.vtysh(cmds.flatMap((c) => ['-c', c])), { timeoutMs: 15_000 });
    const docs = r.code === 0 ? splitJsonDocuments(r.stdout) : undefined;
    if (docs && docs.length === cmds.length) {
      try { return docs.map((d) => JSON.parse(d) as unknown); } catch { /* fall back */ }
    }
    return Promise.all(cmds.map((c) => this.vtyshJson(c)));
  }

  async lldpNeighbors(): Promise<{ localPort: string; remoteSystem?: string; remotePort?: string; remoteChassisId?: string; remoteMgmt?: string }[]> {
    const sock = join(this.sockDir, 'lldpd.sock');
    if (!existsSync(sock)) return [];
    const r = await run(['lldpcli', '-u', sock, '-f', 'json0', 'show', 'neighbors', 'details'], { timeoutMs: 10_000 });
    if (r.code !== 0) return [];
    const doc = JSON.parse(r.stdout) as { lldp?: { interface?: unknown[] }[] };
    const out: { localPort: string; remoteSystem?: string; remotePort?: string; remoteChassisId?: string; remoteMgmt?: string }[] = [];
    for (const l of doc.lldp ?? []) {
      for (const i of (l.interface ?? []) as Record<string, unknown>[]) {
        const ch = ((i.chassis as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
        const port = ((i.port as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
        const val = (x: unknown): string | undefined => {
          const a = x as { value?: string }[] | undefined;
          return Array.isArray(a) && a[0] ? a[0].value : undefined;
        };
        out.push({
          localPort: String(i.name),
          remoteSystem: val(ch.name),
          remoteChassisId: val(ch.id),
          remoteMgmt: val(ch['mgmt-ip']),
          remotePort: val(port.id),
        });
      }
    }
    return out;
  }

  async interfaces(): Promise<{ name: string; type: string; operUp: boolean; mac?: string; mtu: number; addresses: string[]; master?: string }[]> {
    const r = await run(['ip', '-j', 'addr', 'show'], { timeoutMs: 10_000 });
    const arr = JSON.parse(r.stdout || '[]') as { ifname: string; operstate: string; flags: string[]; address?: string; mtu: number; master?: string; link_type?: string; linkinfo?: { info_kind?: string }; addr_info?: { local: string; prefixlen: number; family: string }[] }[];
    return arr.map((i) => ({
      name: i.ifname,
      type: i.ifname === 'lo' ? 'softwareLoopback' : 'ethernetCsmacd',
      operUp: i.operstate === 'UP' || (i.ifname === 'lo') || (i.operstate === 'UNKNOWN' && i.flags.includes('LOWER_UP')),
      mac: i.address,
      mtu: i.mtu,
      master: i.master,
      addresses: (i.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6').map((a) => `${a.local}/${a.prefixlen}`),
    }));
  }

  // ------------------------------------------------------------------ reboot (install-software)
  /** Flaps the front-panel ports: down now, up later. */
  async portsDown(): Promise<void> {
    for (const p of this.cfg.ports) await run(['ip', 'link', 'set', p, 'down']);
  }

  async portsUp(): Promise<void> {
    for (const p of this.cfg.ports) await run(['ip', 'link', 'set', p, 'up']);
  }

  async stopAll(): Promise<void> {
    await this.stopManagementDaemons();
    await this.stopFrr();
    await this.stopDhclient();
  }

  async sleep(ms: number): Promise<void> {
    await sleep(ms);
  }
}

function mergeNetdev(a: NetdevState, b: NetdevState): NetdevState {
  // after a partial reconcile, remember everything either version made, so cleanup finds it
  return {
    created: { ...a.created, ...b.created },
    addresses: { ...a.addresses, ...b.addresses },
    masters: { ...a.masters, ...b.masters },
  };
}

/** Debian's frr-snmp: bgpd's BGP4-MIB module (multiarch path). */
function bgpdSnmpModule(): boolean {
  try {
    return readdirSync('/usr/lib').some((d) => d.endsWith('-linux-gnu') && existsSync(`/usr/lib/${d}/frr/modules/bgpd_snmp.so`));
  } catch {
    return false;
  }
}

function frrIds(): { uid: number; gid: number } | undefined {
  try {
    const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
    if (!passwd) return undefined;
    const p = passwd.split(':');
    return { uid: Number(p[2]), gid: Number(p[3]) };
  } catch {
    return undefined;
  }
}

export function chmod600(f: string): void {
  chmodSync(f, 0o600);
}

/** Top-level JSON documents written one after another (vtysh's output of several commands). */
export function splitJsonDocuments(text: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') { if (depth++ === 0) start = i; }
    else if (c === '}' || c === ']') {
      if (--depth < 0) return undefined;
      if (depth === 0) out.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c)) return undefined;
  }
  return depth === 0 ? out : undefined;
}

/** A removed address that is already gone is no failure. */
const tolerated = (argv: string[]): boolean => argv[1] === 'addr' && argv[2] === 'del';
const BATCHABLE = /^[A-Za-z0-9_.:/+-]+$/;

/**
 * Runs the reconcile commands in order, consecutive `ip` (or `bridge`) commands as one
 * `<tool> -batch -`: a leaf's services are tens of commands, and every process start takes
 * seconds under emulation (a commit then outlived the service's 60 s RPC wait). The batch stops
 * at its first failure and names the line; a tolerated failure resumes after it. Arguments that
 * need quoting (an alias with spaces) run alone. Returns the first real failure.
 */
export async function runNetdevCommands(cmds: string[][], exec: typeof run = run): Promise<{ argv: string[]; stderr: string } | undefined> {
  let i = 0;
  while (i < cmds.length) {
    const tool = cmds[i][0];
    let j = i;
    while (j < cmds.length && cmds[j][0] === tool && (tool === 'ip' || tool === 'bridge') && cmds[j].slice(1).every((a) => BATCHABLE.test(a))) j++;
    if (j - i < 2) {
      const r = await exec(cmds[i], { timeoutMs: 10_000 });
      if (r.code !== 0 && !tolerated(cmds[i])) return { argv: cmds[i], stderr: r.stderr };
      i++;
      continue;
    }
    const chunk = cmds.slice(i, j);
    const r = await exec([tool, '-batch', '-'], { timeoutMs: 10_000 + 2_000 * chunk.length, input: `${chunk.map((c) => c.slice(1).join(' ')).join('\n')}\n` });
    if (r.code === 0) { i = j; continue; }
    const line = Number(/Command failed -:(\d+)/.exec(r.stderr)?.[1] ?? NaN);
    if (!(line >= 1 && line <= chunk.length)) return { argv: [tool, '-batch', '-'], stderr: r.stderr };
    const k = i + line - 1;
    if (!tolerated(cmds[k])) return { argv: cmds[k], stderr: r.stderr.split('\n').filter((l) => !/^Command failed/.test(l)).join('\n') };
    i = k + 1;
  }
  return undefined;
}
