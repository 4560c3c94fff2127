// The `netns` twin backend: one network namespace per node on this kernel, veth pairs as cables,
// `<lab>-ctl` holding mgmt0, a device agent per device (src/lab/agent/main.ts) that runs FRR,
// lldpd, snmpd, dhclient and NETCONF inside its namespace. Everything made is recorded first
// (src/lab/state.ts) so `down` removes it by name and pid, also after a crash.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BgpSessionStatus, LabBackend, LabStatus, LabUpOptions, LabUpResult, NodeStatus, DeviceState } from './backend';
import { deviceIdentity, managementPlan, requiredKernelFeatures, type Topology } from './topology';
import { LabPaths, ensureDir, isAlive, killRecorded, readRecord, recordNamespace, recordPidTo, recordedNamespaces, recordedPids, writeRecord } from './state';
import { must, run, sleep, spawnDaemon } from './sh';
import { describeMissing, kernelFeatures, missingFeatures } from './kernel';
import type { DeviceConfig } from './agent/device';
import type { Bootstrap } from './ztp';
import { checkRunning } from './running';
import { startRouter } from './routers';

export class LabError extends Error {}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('the twin needs root (network namespaces, veths, daemons): run it as root, e.g. sudo npm run lab -- ...');
  }
}

export async function listNamespaces(): Promise<Set<string>> {
  const r = await run(['ip', '-j', 'netns', 'list']);
  try {
    return new Set((JSON.parse(r.stdout || '[]') as { name: string }[]).map((n) => n.name));
  } catch {
    return new Set(r.stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
  }
}

/** Path of the compiled agent entry point (next to this file in dist/). */
export function agentMainPath(): string {
  // compiled: next to this file; from TypeScript sources (tests): the build in dist/
  const here = resolve(__dirname, 'agent', 'main.js');
  if (existsSync(here)) return here;
  return resolve(__dirname, '..', '..', 'dist', 'src', 'lab', 'agent', 'main.js');
}

async function batch(ns: string | undefined, lines: string[]): Promise<void> {
  if (!lines.length) return;
  const argv = ns ? ['ip', '-n', ns, '-batch', '-'] : ['ip', '-batch', '-'];
  await must(argv, { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
}

export const MGMT_VETH = (i: number): string => `mg${i}`;

export class NetnsBackend implements LabBackend {
  readonly kind = 'netns' as const;

  async cannotCarry(topo: Topology): Promise<string | undefined> {
    requireRoot();
    const have = await kernelFeatures();
    const missing = missingFeatures(have, requiredKernelFeatures(topo));
    if (missing.length) {
      const who = topo.servers.filter((s) => s.nics.length >= 2 || s.vlan !== undefined).map((s) => s.name);
      return `this kernel lacks ${describeMissing(missing)} (needed by ${who.join(', ')}); use --backend vm`;
    }
    return undefined;
  }

  async up(topo: Topology, opts: LabUpOptions): Promise<LabUpResult> {
    requireRoot();
    const t0 = Date.now();
    const log = opts.log ?? (() => undefined);
    const why = await this.cannotCarry(topo);
    if (why) throw new LabError(`lab ${topo.name}: ${why}`);
    if (opts.preconfigured && (!topo.credentials || !topo.snmp)) {
      throw new LabError(`lab ${topo.name}: --preconfigured needs credentials and snmp in the topology file`);
    }
    const runningWhy = checkRunning(topo, opts);
    if (runningWhy) throw new LabError(`lab ${topo.name}: ${runningWhy}`);
    const p = new LabPaths(topo.name, opts.root);
    const present = await listNamespaces();
    const prev = readRecord(p);
    if (prev && recordedNamespaces(p).some((n) => present.has(n))) {
      throw new LabError(`lab ${topo.name} is already up (${p.dir}); run: npm run lab -- down ${topo.name}`);
    }
    const nsNames = [`${topo.name}-ctl`, ...topo.devices.map((d) => `${topo.name}-${d.name}`), ...topo.servers.map((s) => `${topo.name}-${s.name}`), ...(topo.routers ?? []).map((r) => `${topo.name}-${r.name}`)];
    const clash = nsNames.filter((n) => present.has(n));
    if (clash.length) throw new LabError(`lab ${topo.name}: namespaces already exist and are not this lab's: ${clash.join(', ')}`);

    // fresh run state; persistent node state keeps only what survives down/up (host keys)
    rmSync(p.runDir, { recursive: true, force: true });
    ensureDir(p.runDir);
    for (const d of topo.devices) {
      ensureDir(p.nodeState(d.name), 0o700);
      for (const f of ['device-state.json']) rmSync(join(p.nodeState(d.name), f), { force: true });
      rmSync(join(p.nodeState(d.name), 'snmp'), { recursive: true, force: true });
    }
    const plan = managementPlan(topo);
    writeRecord(p, {
      name: topo.name, backend: 'netns', createdAt: new Date().toISOString(), preconfigured: !!opts.preconfigured,
      topology: topo, managementIps: opts.preconfigured ? plan.devices : {},
    });

    try {
      await this.build(topo, p, opts, plan, log);
      const ips = await this.waitDevices(topo, p, !!opts.preconfigured, (opts.timeoutSeconds ?? 120) * 1000, log);
      const seconds = (Date.now() - t0) / 1000;
      const hints = [
        `lab ${topo.name} up in ${seconds.toFixed(1)} s (netns): ${topo.devices.length} devices, ${topo.servers.length} servers`,
        `controller namespace: ${opts.externalMgmt ? '(external)' : `${topo.name}-ctl`}, bridge mgmt0, gateway ${topo.management.gateway}`,
        opts.preconfigured
          ? `devices: ${Object.entries(ips).map(([n, a]) => `${n}=${a}`).join(' ')} (NETCONF :830, SNMP :161)`
          : `devices are in factory default, DHCP on eth0; serve DHCP in the controller namespace: ip netns exec ${topo.name}-ctl ...  (DHCP_INTERFACE=mgmt0)`,
        `shell on a node: npm run lab -- exec ${topo.name} <node> -- bash ; status: npm run lab -- status ${topo.name} ; down: npm run lab -- down ${topo.name}`,
      ];
      return { name: topo.name, backend: 'netns', dir: p.dir, managementIps: ips, hints, seconds };
    } catch (e) {
      log(`up failed, removing what was made: ${(e as Error).message}`);
      await this.down(topo.name, { root: opts.root, log });
      throw e;
    }
  }

  private async build(topo: Topology, p: LabPaths, opts: LabUpOptions, plan: ReturnType<typeof managementPlan>, log: (l: string) => void): Promise<void> {
    const ns = (n: string): string => `${topo.name}-${n}`;
    const ctl = opts.externalMgmt ? opts.externalMgmt.namespace : ns('ctl');
    const bridge = opts.externalMgmt ? opts.externalMgmt.bridge : 'mgmt0';
    // 1. namespaces (recorded before they exist)
    const all = [...(opts.externalMgmt ? [] : [ns('ctl')]), ...topo.devices.map((d) => ns(d.name)), ...topo.servers.map((s) => ns(s.name)), ...(topo.routers ?? []).map((r) => ns(r.name))];
    for (const n of all) {
      recordNamespace(p, n);
      await must(['ip', 'netns', 'add', n]);
    }
    log(`${all.length} namespaces`);
    // 2. controller: mgmt0 with the gateway, no route out; broadcast route for the DHCP server
    if (!opts.externalMgmt) {
      await batch(ctl, [
        'link set lo up',
        `link add ${bridge} type bridge stp_state 0 forward_delay 0`,
        `addr add ${topo.management.gateway}/${plan.prefixLen} dev ${bridge}`,
        `link set ${bridge} up`,
        `route add 255.255.255.255/32 dev ${bridge}`,
      ]);
    }
    // 3. devices: lo, forwarding, eth0 on mgmt0
    const mgmtLines: string[] = [];
    await Promise.all(topo.devices.map(async (d, i) => {
      const dn = ns(d.name);
      await batch(dn, ['link set lo up']);
      await must(['ip', 'netns', 'exec', dn, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      const peer = MGMT_VETH(i);
      await must(['ip', ...(ctl ? ['-n', ctl] : []), 'link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', dn]);
      mgmtLines.push(`link set ${peer} master ${bridge}`, `link set ${peer} up`);
    }));
    await batch(ctl, mgmtLines);
    // 4. cables
    const perNs = new Map<string, string[]>();
    const add = (n: string, l: string): void => { perNs.set(n, [...(perNs.get(n) ?? []), l]); };
    // Cables come at the kernel's 1500, as a real port does before it is configured: the fabric
    // MTU must come from the rendered configuration, or full-size frames across VXLAN are lost.
    for (const l of topo.links) {
      add(ns(l.a.node), `link add ${l.a.port} type veth peer name ${l.b.port} netns ${ns(l.b.node)}`);
    }
    for (const s of topo.servers) {
      s.nics.forEach((nic, j) => add(ns(s.name), `link add eth${j + 1} type veth peer name ${nic.port} netns ${ns(nic.node)}`));
    }
    for (const [n, lines] of perNs) await batch(n, lines);
    const upLines = new Map<string, string[]>();
    const up = (n: string, l: string): void => { upLines.set(n, [...(upLines.get(n) ?? []), l]); };
    for (const l of topo.links) { up(ns(l.a.node), `link set ${l.a.port} up`); up(ns(l.b.node), `link set ${l.b.port} up`); }
    for (const s of topo.servers) {
      const sn = ns(s.name);
      up(sn, 'link set lo up');
      s.nics.forEach((nic) => up(ns(nic.node), `link set ${nic.port} up`));
      // Two NICs or more: an 802.3ad bond0 (ESI-LAG on the leaves); a VLAN rides on top of the
      // bond or eth1. Kernels without bonding/802.1Q never get here (cannotCarry refuses them).
      let dev = 'eth1';
      if (s.nics.length >= 2) {
        up(sn, 'link add bond0 type bond mode 802.3ad lacp_rate fast miimon 100 xmit_hash_policy layer3+4');
        s.nics.forEach((_, j) => up(sn, `link set eth${j + 1} master bond0`));
        dev = 'bond0';
      }
      s.nics.forEach((_, j) => up(sn, `link set eth${j + 1} up`));
      if (dev === 'bond0') up(sn, 'link set bond0 up');
      if (s.vlan !== undefined) {
        up(sn, `link add link ${dev} name ${dev}.${s.vlan} type vlan id ${s.vlan}`);
        dev = `${dev}.${s.vlan}`;
        up(sn, `link set ${dev} up`);
      }
      if (s.address) up(sn, `addr add ${s.address} dev ${dev}`);
    }
    for (const [n, lines] of upLines) await batch(n, lines);
    log(`${topo.links.length} links, ${topo.servers.length} servers cabled`);
    // 5. device agents
    const nodeBin = opts.nodeBin ?? process.execPath;
    const main = agentMainPath();
    if (!existsSync(main)) throw new LabError(`device agent not built: ${main} is missing (run npx tsc first)`);
    const portsOf = (dev: string): string[] => [
      ...topo.links.flatMap((l) => [l.a, l.b]).filter((e) => e.node === dev).map((e) => e.port),
      ...topo.servers.flatMap((s) => s.nics).filter((e) => e.node === dev).map((e) => e.port),
    ];
    for (const d of topo.devices) {
      const id = deviceIdentity(d);
      const runDir = ensureDir(p.nodeRun(d.name));
      let pre: DeviceConfig['preconfigured'];
      if (opts.preconfigured) {
        const b: Bootstrap = {
          hostname: d.name,
          credentials: topo.credentials!,
          netconf: { port: 830 },
          snmp: { ...topo.snmp! },
          lldp: true,
        };
        pre = { address: plan.devices[d.name], prefixLen: plan.prefixLen, bootstrap: b };
        const run = opts.running && Object.hasOwn(opts.running, d.name) ? opts.running[d.name] : undefined;
        if (run) pre.running = { frrConf: run.frrConf, interfaces: run.interfaces ?? '' };
      }
      const cfg: DeviceConfig = {
        lab: topo.name, node: d.name, namespace: ns(d.name), serial: d.serial, vendor: id.vendor, model: id.model,
        vendorClass: id.vendorClass, ports: portsOf(d.name), runDir, stateDir: p.nodeState(d.name),
        labPidFile: p.pidFile, preconfigured: pre,
      };
      writeFileSync(join(runDir, 'device.json'), JSON.stringify(cfg, null, 2), { mode: 0o600 });
      // its own UTS namespace too: each device (and the FRR, lldpd, snmpd it starts) has its own host name
      const pid = spawnDaemon(['ip', 'netns', 'exec', ns(d.name), 'unshare', '--uts', nodeBin, main, '--run', runDir], join(runDir, 'agent.log'));
      recordPidTo(p.pidFile, pid, d.name, 'agent');
    }
    log(`${topo.devices.length} device agents started`);
    // 6. outside routers (topology routers:): FRR with their own config, no agent
    for (const r of topo.routers ?? []) {
      await batch(ns(r.name), ['link set lo up']);
      await startRouter(r, ns(r.name), { runDir: ensureDir(p.nodeRun(r.name)), pidFile: p.pidFile, baseDir: opts.topologyDir });
    }
    if (topo.routers?.length) log(`${topo.routers.length} outside routers started`);
  }

  private async waitDevices(topo: Topology, p: LabPaths, preconfigured: boolean, timeoutMs: number, log: (l: string) => void): Promise<Record<string, string>> {
    const end = Date.now() + timeoutMs;
    const pending = new Set(topo.devices.map((d) => d.name));
    const ips: Record<string, string> = {};
    while (pending.size) {
      for (const n of [...pending]) {
        const st = readStatus(p, n);
        const agent = recordedPids(p.pidFile).find((e) => e.node === n && e.what === 'agent');
        if (agent && !isAlive(agent)) {
          const tail = tailFile(join(p.nodeRun(n), 'agent.log'), 5);
          throw new LabError(`device ${n}: agent exited during start-up: ${tail}`);
        }
        if (!st) continue;
        if (st.error) throw new LabError(`device ${n}: ${st.error}`);
        const ready = preconfigured ? st.netconf === true : st.phase === 'factory-default' && st.dhcp === true;
        if (ready) {
          pending.delete(n);
          if (st.managementIp) ips[n] = st.managementIp as string;
        }
      }
      if (!pending.size) break;
      if (Date.now() > end) throw new LabError(`devices not ready after ${timeoutMs / 1000} s: ${[...pending].join(', ')}`);
      await sleep(100);
    }
    log(`${topo.devices.length} devices ready`);
    return ips;
  }

  async down(name: string, opts: { root?: string; log?: (line: string) => void } = {}): Promise<void> {
    requireRoot();
    const log = opts.log ?? (() => undefined);
    const p = new LabPaths(name, opts.root);
    // 1. processes by recorded pid (agents first: they would restart nothing, but stop cleanly)
    const pids = recordedPids(p.pidFile);
    const agents = pids.filter((e) => e.what === 'agent');
    const killed = (await killRecorded(agents, 3000)) + (await killRecorded(pids.filter((e) => e.what !== 'agent'), 3000));
    // 2. namespaces by recorded name; anything still running inside one of OUR namespaces is ours
    const present = await listNamespaces();
    const nss = recordedNamespaces(p).filter((n) => present.has(n));
    for (const n of nss) {
      const r = await run(['ip', 'netns', 'pids', n]);
      const left = r.stdout.split('\n').map((x) => Number(x)).filter((x) => x > 0);
      for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      if (left.length) log(`${n}: killed ${left.length} unrecorded processes`);
    }
    for (const n of nss) {
      for (let i = 0; i < 20; i++) {
        const r = await run(['ip', 'netns', 'del', n]);
        if (r.code === 0 || !(await listNamespaces()).has(n)) break;
        await sleep(100);
      }
    }
    // 3. run files: FRR pathspaces, our run directory
    for (const n of recordedNamespaces(p)) {
      rmSync(`/var/run/frr/${n}`, { recursive: true, force: true });
      rmSync(`/etc/frr/${n}`, { recursive: true, force: true });
      rmSync(`/run/twin/${n}`, { recursive: true, force: true });
    }
    rmSync(p.runDir, { recursive: true, force: true });
    rmSync(p.record, { force: true });
    log(`lab ${name} down: ${killed} processes, ${nss.length} namespaces removed`);
  }

  async status(name: string, opts: { root?: string } = {}): Promise<LabStatus> {
    const p = new LabPaths(name, opts.root);
    const rec = readRecord(p);
    if (!rec) throw new LabError(`lab ${name}: no such lab under ${p.dir}`);
    const present = await listNamespaces();
    const pids = recordedPids(p.pidFile);
    const nodes: NodeStatus[] = [];
    for (const d of rec.topology.devices) {
      const nsn = `${name}-${d.name}`;
      const st = readStatus(p, d.name);
      const procs = pids.filter((e) => e.node === d.name && isAlive(e)).map((e) => ({ pid: e.pid, what: e.what }));
      const agentUp = procs.some((x) => x.what === 'agent');
      let state: DeviceState = !present.has(nsn) || !agentUp ? 'down' : ((st?.phase as DeviceState | undefined) ?? 'factory-default');
      const bgp = present.has(nsn) && procs.some((x) => x.what === 'bgpd') ? await bgpSessions(nsn) : [];
      if (state === 'down' && present.has(nsn) && procs.length) state = 'down';
      nodes.push({
        name: d.name, kind: 'device', namespace: nsn, state, managementIp: st?.managementIp as string | undefined,
        serial: d.serial, model: d.profile, osVersion: st?.osVersion as string | undefined, bgp, processes: procs,
      });
    }
    for (const s of rec.topology.servers) {
      nodes.push({ name: s.name, kind: 'server', namespace: `${name}-${s.name}`, managementIp: undefined });
    }
    return {
      name, backend: 'netns', running: recordedNamespaces(p).some((n) => present.has(n)), dir: p.dir,
      management: { cidr: rec.topology.management.cidr, gateway: rec.topology.management.gateway, namespace: `${name}-ctl`, bridge: 'mgmt0' },
      nodes,
    };
  }

  async exec(name: string, node: string, argv: string[], opts: { root?: string } = {}): Promise<number> {
    requireRoot();
    const p = new LabPaths(name, opts.root);
    const rec = readRecord(p);
    if (!rec) throw new LabError(`lab ${name}: no such lab under ${p.dir}`);
    const known = node === 'ctl' || [...rec.topology.devices, ...rec.topology.servers, ...(rec.topology.routers ?? [])].some((d) => d.name === node);
    if (!known) throw new LabError(`lab ${name}: no node "${node}" (nodes: ctl, ${[...rec.topology.devices, ...rec.topology.servers, ...(rec.topology.routers ?? [])].map((x) => x.name).join(', ')})`);
    if (!argv.length) throw new LabError('exec: give a command after --');
    return new Promise((resolveP, reject) => {
      const child = spawn('ip', ['netns', 'exec', `${name}-${node}`, ...argv], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, sig) => resolveP(code ?? (sig ? 128 : 1)));
    });
  }
}

export function readStatus(p: LabPaths, node: string): Record<string, unknown> | undefined {
  const f = join(p.nodeRun(node), 'status.json');
  if (!existsSync(f)) return undefined;
  try { return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>; } catch { return undefined; }
}

function tailFile(f: string, n: number): string {
  try { return readFileSync(f, 'utf8').trim().split('\n').slice(-n).join(' | '); } catch { return '(no log)'; }
}

/** BGP sessions of a device from FRR (`show bgp summary json`, every AFI). */
export async function bgpSessions(ns: string): Promise<BgpSessionStatus[]> {
  const r = await run(['vtysh', '-N', ns, '-c', 'show bgp vrf all summary json'], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  let doc: Record<string, Record<string, { peers?: Record<string, { remoteAs?: number; state?: string; pfxRcd?: number }> }>>;
  try { doc = JSON.parse(r.stdout); } catch { return []; }
  const out: BgpSessionStatus[] = [];
  for (const vrf of Object.values(doc)) {
    if (typeof vrf !== 'object' || !vrf) continue;
    for (const [afi, v] of Object.entries(vrf)) {
      if (!v || typeof v !== 'object' || !v.peers) continue;
      for (const [peer, s] of Object.entries(v.peers)) out.push({ peer, remoteAs: s.remoteAs, state: s.state ?? 'Unknown', afi, prefixesReceived: s.pfxRcd });
    }
  }
  return out;
}

/** Every lab directory under the root (for `lab list`). */
export function labNames(root?: string): string[] {
  const r = resolve(root ?? process.env.LAB_DIR ?? '.lab');
  if (!existsSync(r)) return [];
  return readdirSync(r).filter((n) => existsSync(join(r, n, 'lab.json')));
}

export const netnsBackend = new NetnsBackend();
