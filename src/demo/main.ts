// `npm run demo`: the product end to end on a twin. Builds a 2-spine 4-leaf frr-switch twin in
// factory default, starts the service inside the lab's controller namespace (DHCP/ZTP on mgmt0,
// its own redis-server), then drives the public REST API only: create the fabric, onboard by
// greenfield ZTP, autoconfigure, create virtual networks (+ a logical router on vm), servers and
// VPGs, and proves it with pings between the servers. Tears everything down at the end, even on
// failure or Ctrl-C, unless --keep.
//
// The host cannot reach addresses inside `<lab>-ctl`, so a tiny forwarder runs in that namespace
// and listens on a unix socket in the run directory (file-system sockets cross namespaces); the
// driver's HTTP client talks through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseTopologyText, type Topology } from '../lab/topology';
import { pickBackend } from '../lab/backends';
import { netnsBackend } from '../lab/netns';
import type { BackendKind, LabBackend } from '../lab/backend';

/** Lab name (the topology file's `demo`; `demovm` on vm so both can run side by side). */
let LAB = 'demo';
const FABRIC = 'demo';
const PORT = 8080;
const REPO = resolve(__dirname, '../../..');

// ------------------------------------------------------------------------ output
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
const say = (line: string) => process.stdout.write(`${stamp()} ${line}\n`);
const detail = (line: string) => process.stdout.write(`            ${line}\n`);

class StageError extends Error {
  constructor(readonly stage: string, message: string) { super(message); }
}
const summary: { stage: string; seconds: number; ok: boolean; note?: string }[] = [];
let current = '';

async function stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
  current = name;
  const s = Date.now();
  say(`== ${name}`);
  try {
    const r = await fn();
    const sec = (Date.now() - s) / 1000;
    summary.push({ stage: name, seconds: sec, ok: true });
    say(`   ${name}: ok (${sec.toFixed(1)} s)`);
    return r;
  } catch (e) {
    const sec = (Date.now() - s) / 1000;
    const msg = e instanceof Error ? e.message : String(e);
    summary.push({ stage: name, seconds: sec, ok: false, note: msg });
    throw e instanceof StageError ? e : new StageError(name, msg);
  }
}
const fail = (why: string): never => { throw new StageError(current, why); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------ cleanup
const cleanups: { what: string; fn: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
function runCleanups(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const c = cleanups.pop()!;
      say(`teardown: ${c.what}`);
      try { await c.fn(); } catch (e) { detail(`teardown of ${c.what} failed: ${(e as Error).message}`); }
    }
  })();
  return cleaning;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const end = Date.now() + graceMs;
  while (Date.now() < end && alive(pid)) await sleep(100);
  if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}
/** A child we spawned: reaped by Node, so wait on its exit event rather than kill(0). */
async function stopChild(c: ChildProcess, graceMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

// ------------------------------------------------------------------------ HTTP through the ctl namespace
const FORWARDER = `
const net = require('node:net'); const fs = require('node:fs');
const [sock, host, port] = process.argv.slice(1);
try { fs.unlinkSync(sock); } catch {}
net.createServer((c) => { const u = net.connect(Number(port), host); c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
  .listen(sock, () => { fs.chmodSync(sock, 0o600); process.stdout.write('ready\\n'); });
`;

interface Reply { status: number; body: any }
class Api {
  token = '';
  constructor(readonly sock: string) {}
  call(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((res, rej) => {
      const req = request({
        socketPath: this.sock, method, path, timeout: timeoutMs,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
      }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
          res({ status: r.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', rej);
      if (data) req.write(data);
      req.end();
    });
  }
  async must(method: string, path: string, body: unknown, want: number[]): Promise<any> {
    const r = await this.call(method, path, body);
    if (!want.includes(r.status)) {
      const m = r.body && typeof r.body === 'object' ? `${r.body.error}: ${r.body.message}` : String(r.body).slice(0, 300);
      fail(`${method} ${path} answered ${r.status} (${m})`);
    }
    return r.body;
  }

  /** Polls a job to its end, printing progress and its log; bounded. */
  async waitJob(id: string, timeoutS: number, quietLog = false): Promise<any> {
    const end = Date.now() + timeoutS * 1000;
    let seen = 0;
    let lastProgress = -1;
    let lastPrint = 0;
    while (Date.now() < end) {
      const v = await this.must('GET', `/api/v1/jobs/${id}?logLimit=5000`, undefined, [200]);
      const log = (v.log ?? []) as { at: string; message: string; device?: string }[];
      if (!quietLog) for (const l of log.slice(seen)) detail(`${l.device ? `${l.device}: ` : ''}${l.message}`);
      seen = log.length;
      if (v.progress !== lastProgress && Date.now() - lastPrint > 3000) {
        detail(`job ${v.type} ${v.state} ${v.progress}%`);
        lastProgress = v.progress;
        lastPrint = Date.now();
      }
      if (['succeeded', 'failed', 'cancelled'].includes(v.state)) return v;
      await sleep(1000);
    }
    return fail(`job ${id} did not finish in ${timeoutS} s`);
  }
}

// ------------------------------------------------------------------------ scenario
interface Scenario {
  topologyFile: string;
  leafRole: string;
  virtualNetworks: Record<string, unknown>[];
  logicalRouters: Record<string, unknown>[];
  vpgs: Record<string, unknown>[];
  full: boolean;
  /** --topology: the fabric only (power-on to verified, then again with nothing to change) */
  fabricOnly?: boolean;
}

function scenario(full: boolean): Scenario {
  if (!full) {
    return {
      topologyFile: join(REPO, 'examples/demo-topology-netns.yaml'),
      leafRole: 'CRB-Access',
      virtualNetworks: [{ name: 'web', vni: 10010, subnet: '10.10.0.0/24' }, { name: 'db', vni: 10020, subnet: '10.20.0.0/24' }],
      logicalRouters: [],
      vpgs: [
        { name: 'bms1', server: 'bms1', ports: [{ device: 'leaf1', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
        { name: 'bms2', server: 'bms2', ports: [{ device: 'leaf2', port: 'swp10' }], bindings: [{ network: 'db', untagged: true }] },
        { name: 'bms3', server: 'bms3', ports: [{ device: 'leaf3', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
      ],
      full: false,
    };
  }
  return {
    topologyFile: join(REPO, 'examples/demo-topology.yaml'),
    leafRole: 'ERB-UCAST-Gateway',
    virtualNetworks: [
      { name: 'web', vni: 10010, subnet: '10.10.0.0/24', gateway: '10.10.0.1' },
      { name: 'db', vni: 10020, subnet: '10.20.0.0/24', gateway: '10.20.0.1' },
    ],
    logicalRouters: [{ name: 'tenant1', mode: 'erb', networks: ['web', 'db'], vni: 50001 }],
    vpgs: [
      { name: 'bms1', server: 'bms1', ports: [{ device: 'leaf1', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
      { name: 'bms2', server: 'bms2', ports: [{ device: 'leaf2', port: 'swp10' }], bindings: [{ network: 'db', vlan: 200 }] },
      { name: 'bms3', server: 'bms3', ports: [{ device: 'leaf3', port: 'swp10' }, { device: 'leaf4', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] },
    ],
    full: true,
  };
}

function fabricFile(topo: Topology, sc: Scenario) {
  return {
    fabric: {
      name: FABRIC,
      credentials: { username: 'admin', password: 'Demo-s3cret!' },
      snmp: { community: 'demo-ro' },
      namespaces: {
        management: [{ cidr: topo.management.cidr, gateway: topo.management.gateway }],
        loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }], overlayAsn: 64512,
      },
    },
    devices: topo.devices.map((d) => {
      const spine = d.name.startsWith('spine');
      return { name: d.name, serial: d.serial, profile: d.profile, physicalRole: spine ? 'spine' : 'leaf', roles: [spine ? 'Route-Reflector' : sc.leafRole] };
    }),
    links: [],
  };
}

// ------------------------------------------------------------------------ the run
interface Opts { backend?: BackendKind; keep?: boolean; dir?: string; timeout: string; topology?: string }

async function run(o: Opts): Promise<void> {
  // The full scenario needs bonds, 802.1Q and VRFs: netns when this kernel has them, else the vm
  // backend (docs/architecture.md, Digital twin); --backend netns on a kernel without them runs the reduced one.
  const fullFile = o.topology ? resolve(o.topology) : join(REPO, 'examples/demo-topology.yaml');
  const why = await netnsBackend.cannotCarry(parseTopologyText(readFileSync(fullFile, 'utf8'), fullFile));
  if (!o.backend) {
    o.backend = why ? 'vm' : 'netns';
    if (why) say(o.topology
      ? `this host's kernel cannot carry ${o.topology} in namespaces (${why}): using the vm backend`
      : `this host's kernel cannot carry the full scenario in namespaces (${why}): using the vm backend (--backend netns runs a reduced scenario)`);
  }
  const sc: Scenario = o.topology
    ? { topologyFile: resolve(o.topology), leafRole: 'CRB-Access', virtualNetworks: [], logicalRouters: [], vpgs: [], full: false, fabricOnly: true }
    : scenario(o.backend === 'vm' || !why);
  o.dir ??= join(REPO, '.lab', o.backend === 'vm' ? 'demo-run-vm' : 'demo-run');
  const runDir = resolve(o.dir);
  const labRoot = join(runDir, 'lab');
  const dataDir = join(runDir, 'data');
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const parsed = parseTopologyText(readFileSync(sc.topologyFile, 'utf8'), sc.topologyFile);
  LAB = o.backend === 'vm' ? 'demovm' : parsed.name;
  const topo: Topology = { ...parsed, name: LAB };
  const nodeBin = process.execPath;
  say(`demo on the ${o.backend} backend; run directory ${runDir}`);
  if (sc.fabricOnly) {
    say(`--topology ${parsed.name}: the fabric only (${parsed.devices.length} devices, ${parsed.links.length} links): power-on to verified, then autoconfigure again; no overlay services`);
  } else if (!sc.full) {
    say('netns backend: the reduced scenario this host kernel carries (no bonds, 802.1Q or VRFs):');
    detail('bms3 is single-homed on leaf3, servers untagged, L2VNIs only, no logical router and no link-cut test.');
    detail('The full scenario (dual-homed bms3, tagged VLAN, ERB logical router): npm run demo -- --backend vm');
  }

  let backend: LabBackend;
  const powerOn = Date.now();
  await stage('twin up (factory default, greenfield)', async () => {
    backend = await pickBackend(topo, o.backend, (l) => detail(`lab: ${l}`));
    // A leftover of an earlier demo in this run directory (crash, --keep): down it first.
    await backend.down(LAB, { root: labRoot }).catch(() => undefined);
    cleanups.push({ what: `lab ${LAB} down`, fn: () => backend.down(LAB, { root: labRoot }) });
    const r = await backend.up(topo, { root: labRoot, log: (l) => detail(`lab: ${l}`), timeoutSeconds: Number(o.timeout) });
    detail(`${topo.devices.length} devices, ${topo.links.length} links, ${topo.servers.length} servers; backend ${r.backend}`);
  });

  const api = new Api(join(runDir, 'api.sock'));
  let servicePid = 0;
  let forwarderPid = 0;
  await stage(`service up in ${LAB}-ctl (DHCP/ZTP on mgmt0, own redis-server)`, async () => {
    // A fresh store every run (a --keep run's service must be stopped first).
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const logFile = join(runDir, 'service.log');
    const fd = openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, DHCP_INTERFACE: 'mgmt0', PORT: String(PORT), HOST: '0.0.0.0', DISCOVERY_ALLOW: topo.management.cidr, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
    delete env.REDIS_URL;
    const svc = spawn('ip', ['netns', 'exec', `${LAB}-ctl`, nodeBin, join(REPO, 'dist/src/api/main.js')], { env, stdio: ['ignore', fd, fd], cwd: REPO });
    closeSync(fd);
    const svcPid = svc.pid!;
    servicePid = svcPid;
    detail(`service pid ${svcPid}, log ${logFile}`);
    cleanups.push({
      what: `service (pid ${svcPid}) and its redis-server`,
      fn: async () => {
        await stopChild(svc, 25_000);
        // The service stops its redis on a clean exit; a killed service leaves it: stop it by its pid file.
        const pf = join(dataDir, 'redis', 'redis.pid');
        if (existsSync(pf)) {
          const pid = Number(readFileSync(pf, 'utf8').trim());
          let cmd = '';
          try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
          if (pid > 1 && cmd.includes('redis-server')) await stopPid(pid, 10_000);
        }
      },
    });
    const fwd = spawn('ip', ['netns', 'exec', `${LAB}-ctl`, nodeBin, '-e', FORWARDER, api.sock, '127.0.0.1', String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push({ what: `API forwarder (pid ${fwd.pid})`, fn: () => stopChild(fwd, 3000) });
    forwarderPid = fwd.pid ?? 0;
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('the API forwarder did not start in 10 s')), 10_000);
      fwd.stdout!.once('data', () => { clearTimeout(t); res(); });
      fwd.once('exit', (c) => { clearTimeout(t); rej(new Error(`the API forwarder exited (${c})`)); });
    });
    const end = Date.now() + 60_000;
    let ready = false;
    while (Date.now() < end && !ready) {
      if (svc.exitCode !== null) fail(`the service exited (${svc.exitCode}); last lines of ${logFile}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n')}`);
      try { ready = (await api.call('GET', '/readyz', undefined, 2000)).status === 200; } catch { /* not listening yet */ }
      if (!ready) await sleep(300);
    }
    if (!ready) fail(`/readyz did not answer 200 in 60 s (see ${logFile})`);
    const tokenFile = join(dataDir, 'admin-token');
    api.token = readFileSync(tokenFile, 'utf8').trim();
    detail(`API http://${topo.management.gateway}:${PORT}/api/v1 inside ${LAB}-ctl; admin token in ${tokenFile}`);
  });

  await stage('create the fabric (POST /fabrics)', async () => {
    const f = fabricFile(topo, sc);
    await api.must('POST', '/api/v1/fabrics', f, [201]);
    for (const d of f.devices) detail(`${d.name.padEnd(7)} serial ${d.serial}  ${d.physicalRole}  ${d.roles.join(',')}`);
  });

  await stage(`onboard by greenfield ZTP (${topo.devices.length} devices expected)`, async () => {
    const onboardS = Math.max(300, 15 * topo.devices.length);
    const { jobId } = await api.must('POST', `/api/v1/fabrics/${FABRIC}/onboard`, { mode: 'greenfield', expectedDevices: topo.devices.length, timeoutSeconds: onboardS }, [202]);
    detail(`job ${jobId}`);
    const v = await api.waitJob(jobId, onboardS + 120);
    if (v.state !== 'succeeded') fail(`onboard job ${v.state}: ${v.error ?? 'no error given'}`);
    const devs = (await api.must('GET', `/api/v1/fabrics/${FABRIC}/devices`, undefined, [200])).items as any[];
    const links = (await api.must('GET', `/api/v1/fabrics/${FABRIC}/links`, undefined, [200])).items as any[];
    for (const d of devs) detail(`${d.name.padEnd(7)} ${String(d.serial).padEnd(9)} ${String(d.managementIp).padEnd(11)} ${d.model} ${d.osVersion ?? ''} ${d.managedState}/${d.onboardingState}`);
    const active = devs.filter((d) => d.managedState === 'active' && d.managementIp);
    detail(`${active.length} devices onboarded, ${links.length} links found`);
    if (active.length !== topo.devices.length) fail(`${active.length} of ${topo.devices.length} devices onboarded`);
    if (links.length !== topo.links.length) fail(`${links.length} links found, expected ${topo.links.length}`);
    const anomalies = links.filter((l) => l.anomaly);
    if (anomalies.length) fail(`link anomalies: ${anomalies.map((l) => `${l.a.device}:${l.a.port}-${l.b.device}:${l.b.port} ${l.anomaly}`).join('; ')}`);
  });

  const autoconfigure = async (what: string, timeoutS: number) => {
    const { jobId } = await api.must('POST', `/api/v1/fabrics/${FABRIC}/autoconfigure`, {}, [202]);
    detail(`job ${jobId} (${what})`);
    return reportConfigJob(api, jobId, timeoutS);
  };

  await stage('autoconfigure: underlay + overlay, pushed over NETCONF and verified', async () => {
    await autoconfigure('full', 600);
  });
  const verifiedS = (Date.now() - powerOn) / 1000;
  say(`power-on to verified fabric: ${verifiedS.toFixed(1)} s`);

  if (sc.fabricOnly) {
    await stage('autoconfigure again: nothing left to change', async () => {
      await autoconfigure('full, expecting no change', 600);
    });
    say(`all stages passed; power-on to verified ${verifiedS.toFixed(1)} s; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (o.keep) keepRunning(topo, api, dataDir, labRoot, servicePid, forwarderPid);
    return;
  }

  await stage(`overlay services: ${sc.virtualNetworks.length} virtual networks${sc.logicalRouters.length ? ', a logical router' : ''}, ${topo.servers.length} servers, VPGs`, async () => {
    const post = async (kind: string, body: Record<string, unknown>) => {
      const r = await api.must('POST', `/api/v1/fabrics/${FABRIC}/${kind}`, body, [201]);
      detail(`${kind} ${body.name}: created; touches ${r.devices?.length ? r.devices.join(', ') : 'no device yet'}`);
      if (r.jobId) await reportConfigJob(api, r.jobId, 600);
    };
    for (const vn of sc.virtualNetworks) await post('virtual-networks', vn);
    for (const lr of sc.logicalRouters) await post('logical-routers', lr);
    for (const s of topo.servers) await post('servers', { name: s.name, nics: s.nics.map((n) => ({ device: n.node, port: n.port })) });
    for (const v of sc.vpgs) await post('vpgs', v);
    // The contract's refusal: a network still bound cannot go.
    const r = await api.call('DELETE', `/api/v1/fabrics/${FABRIC}/virtual-networks/web`);
    if (r.status !== 409) fail(`DELETE of the bound network web answered ${r.status}, expected 409`);
    detail(`DELETE virtual-networks/web while bound: 409 (${r.body?.message})`);
  });

  await stage('autoconfigure again: nothing left to change', async () => {
    const v = await autoconfigure('full, expecting no change', 600);
    const changed = Object.entries(v.devices ?? {}).filter(([, d]: [string, any]) => d.result?.changed === true).map(([n]) => n);
    if (changed.length) detail(`note: ${changed.join(', ')} still had changes (pushed now)`);
  });

  const addr = (name: string) => topo.servers.find((s) => s.name === name)!.address!.split('/')[0];
  const ping = async (from: string, to: string, tries = 6): Promise<void> => {
    for (let i = 1; i <= tries; i++) {
      const code = await backend.exec(LAB, from, ['ping', '-c', '3', '-W', '1', '-q', addr(to)], { root: labRoot });
      if (code === 0) { detail(`${from} -> ${to} (${addr(to)}): replies (try ${i})`); return; }
      detail(`${from} -> ${to}: no reply (try ${i} of ${tries})`);
      await sleep(2000);
    }
    fail(`${from} cannot reach ${to} (${addr(to)})`);
  };

  await stage('prove it: bms1 and bms3 (network web, different leaves) ping each other', async () => {
    await ping('bms1', 'bms3');
    await ping('bms3', 'bms1');
  });

  if (!sc.full) {
    await stage('prove it: networks are isolated (bms2 in db, given a web address too, is not reachable from bms1)', async () => {
      // bms1 has no route to db's subnet, so a plain ping would prove nothing: give bms2 a second
      // address in web's subnet; only a leak between the two L2VNIs would carry bms1's ARP to it.
      const probe = '10.10.0.99';
      if (await backend.exec(LAB, 'bms2', ['ip', 'addr', 'add', `${probe}/24`, 'dev', 'eth1'], { root: labRoot }) !== 0) fail(`could not add ${probe} to bms2`);
      try {
        const code = await backend.exec(LAB, 'bms1', ['ping', '-c', '2', '-W', '1', '-q', probe], { root: labRoot });
        if (code === 0) fail(`bms1 reached bms2 at ${probe} although bms2's port is in network db`);
        detail(`bms1 -> bms2 (${probe} on its db port): no reply, as it should be`);
      } finally {
        await backend.exec(LAB, 'bms2', ['ip', 'addr', 'del', `${probe}/24`, 'dev', 'eth1'], { root: labRoot });
      }
    });
  }
  if (sc.full) {
    await stage('prove it: bms2 (network db) reaches bms1 through the logical router', async () => {
      // The servers' routes to the other network via their network's anycast gateway.
      const gw = (vn: string) => String(sc.virtualNetworks.find((v) => v.name === vn)!.gateway);
      await backend.exec(LAB, 'bms2', ['ip', 'route', 'replace', '10.10.0.0/24', 'via', gw('db')], { root: labRoot });
      await backend.exec(LAB, 'bms1', ['ip', 'route', 'replace', '10.20.0.0/24', 'via', gw('web')], { root: labRoot });
      await ping('bms2', 'bms1');
    });
    await stage('prove it: with leaf3-bms3 cut, bms1 and bms3 still ping (ESI-LAG via leaf4)', async () => {
      const code = await backend.exec(LAB, 'leaf3', ['ip', 'link', 'set', 'swp10', 'down'], { root: labRoot });
      if (code !== 0) fail('could not cut leaf3:swp10');
      await ping('bms1', 'bms3');
      await ping('bms3', 'bms1');
    });
  }

  say(`all stages passed; power-on to verified ${verifiedS.toFixed(1)} s; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (o.keep) keepRunning(topo, api, dataDir, labRoot, servicePid, forwarderPid);
}

/** --keep: nothing is torn down; say how to reach and stop what runs. */
function keepRunning(topo: Topology, api: Api, dataDir: string, labRoot: string, servicePid: number, forwarderPid: number): void {
  cleanups.length = 0;
  say('--keep: everything stays up');
  detail(`API: http://${topo.management.gateway}:${PORT}/api/v1 inside namespace ${LAB}-ctl (ip netns exec ${LAB}-ctl curl ...)`);
  detail(`    or from the host through the unix socket ${api.sock} (curl --unix-socket ${api.sock} http://x/api/v1/fabrics)`);
  detail(`token file: ${join(dataDir, 'admin-token')}`);
  const s = topo.servers[0];
  const d = topo.devices[0];
  detail(s ? `servers: npm run lab -- exec ${LAB} ${s.name} --dir ${labRoot} -- ip addr` : `devices: npm run lab -- exec ${LAB} ${d.name} --dir ${labRoot} -- vtysh -c 'show bgp summary'`);
  detail(`stop: kill ${servicePid} ${forwarderPid} (the service, which stops its redis-server, and the API forwarder), then npm run lab -- down ${LAB} --dir ${labRoot}`);
}

/** Waits for an autoconfigure job and prints its per-device outcome and verification. */
async function reportConfigJob(api: Api, jobId: string, timeoutS: number): Promise<any> {
  const v = await api.waitJob(jobId, timeoutS, true);
  for (const [name, d] of Object.entries(v.devices ?? {}) as [string, any][]) {
    const r = d.result ?? {};
    // A succeeded device passed every check it ran (BGP per link, loopbacks, EVPN sessions).
    const ver = r.verify ? ` verified ${r.verify.checks ?? '?'} checks` : '';
    const notes = r.verify?.notes?.length ? ` (${r.verify.notes.join('; ')})` : '';
    const what = r.committed ? 'committed' : r.changed === false ? 'no change' : r.pushed === false ? 'not pushed' : '';
    detail(`${name.padEnd(7)} ${d.state}${what ? ` ${what}` : ''}${ver}${notes}${d.error ? ` ERROR ${d.error}` : ''}`);
  }
  if (v.state !== 'succeeded') fail(`autoconfigure job ${jobId} ${v.state}: ${v.error ?? 'no error given'}`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program.name('demo').description('fabric-ztp end to end on a twin (needs root)')
    .addOption(new Option('--backend <kind>', 'twin backend (default: netns when the kernel carries the full scenario, else vm)').choices(['netns', 'vm']))
    .option('--keep', 'leave the twin and the service running at the end')
    .option('--dir <dir>', 'run directory (lab, service data, logs; default .lab/demo-run or .lab/demo-run-vm)')
    .option('--timeout <seconds>', 'seconds the twin may take to come up', '300')
    .option('--topology <file>', 'another twin (lab topology file): the fabric only, from power-on to verified; no overlay services')
    .exitOverride();
  try { program.parse(argv, { from: 'user' }); } catch (e) { return (e as { exitCode?: number }).exitCode ?? 1; }
  const o = program.opts<Opts>();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('demo: needs root (it builds network namespaces and runs FRR, DHCP and the service): run it as root, e.g. sudo npm run demo\n');
    return 1;
  }
  let interrupted = false;
  const onSignal = (sig: string) => {
    if (interrupted) return;
    interrupted = true;
    say(`${sig}: stopping; tearing down`);
    void runCleanups().then(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  let code = 0;
  try {
    await run(o);
  } catch (e) {
    code = 1;
    const stageName = e instanceof StageError ? e.stage : current;
    say(`FAILED at stage "${stageName}": ${(e as Error).message}`);
  } finally {
    await runCleanups();
    if ((!o.keep || code !== 0) && o.dir) rmSync(join(resolve(o.dir), 'api.sock'), { force: true });
  }
  process.stdout.write('\nsummary\n');
  for (const s of summary) process.stdout.write(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.seconds.toFixed(1).padStart(6)} s  ${s.stage}${s.note ? `: ${s.note.split('\n')[0]}` : ''}\n`);
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((c) => process.exit(c), (e) => { process.stderr.write(`demo: ${(e as Error).message}\n`); process.exit(1); });
}
