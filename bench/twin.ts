// Twin bring-up figures on the netns backend: time for `up` (preconfigured: every device
// bootstrapped with NETCONF listening; greenfield: every device in factory default with dhclient
// running) and memory per device (RSS and PSS of every process in the device's namespace).
// Usage (root, after `npx tsc`): node dist/bench/twin.js [SPINES LEAVES]...   default: 2 4  4 16
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsBackend } from '../src/lab/netns';
import { validateTopology, type Topology } from '../src/lab/topology';
import { run } from '../src/lab/sh';
import { existsSync } from 'node:fs';

const REPO = join(__dirname, '..', '..');
const GOLDEN = join(REPO, 'test', 'golden', 'dc1-frr');

// Pushes each device's config through its agent (NETCONF from inside <lab>-ctl, the way the
// service runs there): lock, edit-config, commit confirmed, confirm. Prints the seconds taken.
const PUSH = `
const { NetconfClient } = require(process.argv[1]);
const jobs = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const t0 = Date.now();
Promise.all(jobs.map(async (j) => {
  const c = await NetconfClient.connect({ host: j.ip, username: 'admin', password: 'admin123' });
  await c.lock('candidate');
  await c.editConfig({ target: 'candidate', config: '<frr xmlns="urn:fabric:frr"><frr-conf>' + esc(j.conf) + '</frr-conf><interfaces></interfaces></frr>', defaultOperation: 'replace' });
  await c.commit({ confirmed: true, confirmTimeout: 120 });
  await c.commit();
  await c.unlock('candidate');
  await c.close();
})).then(() => { process.stdout.write(String((Date.now() - t0) / 1000)); process.exit(0); }, (e) => { process.stderr.write(e.message); process.exit(1); });
`;

/** 2x4 only: the golden dc1 configs pushed through the agents, then until every BGP session is up. */
async function converge(topo: Topology, ips: Record<string, string>): Promise<string> {
  const jobs = topo.devices.map((d) => ({ ip: ips[d.name], conf: readFileSync(join(GOLDEN, `${d.name}.frr.conf`), 'utf8') }));
  const client = join(REPO, 'dist', 'src', 'netconf', 'client.js');
  const t0 = Date.now();
  const r = await run(['ip', 'netns', 'exec', `${topo.name}-ctl`, process.execPath, '-e', PUSH, client], { input: JSON.stringify(jobs), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`push: ${r.stderr}`);
  const pushS = Number(r.stdout);
  for (let i = 0; i < 600; i++) {
    let total = 0;
    let up = 0;
    for (const d of topo.devices) {
      const j = await run(['vtysh', '-N', `${topo.name}-${d.name}`, '-c', 'show bgp vrf all summary json']);
      for (const vrf of Object.values(JSON.parse(j.stdout || '{}') as Record<string, Record<string, { peers?: Record<string, { state: string }> }>>)) {
        for (const af of Object.values(vrf)) for (const p of Object.values(af?.peers ?? {})) { total++; if (p.state === 'Established') up++; }
      }
    }
    if (total > 0 && up === total) return `golden dc1 configs pushed through the 6 agents in ${pushS.toFixed(1)} s; all ${total} BGP sessions Established ${((Date.now() - t0) / 1000).toFixed(1)} s after the push began`;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error('BGP did not converge in 150 s');
}

function clos(name: string, spines: number, leaves: number): Topology {
  const devices = [
    ...Array.from({ length: spines }, (_, i) => ({ name: `spine${i + 1}`, profile: 'frr-switch', serial: `BS${String(i + 1).padStart(4, '0')}` })),
    ...Array.from({ length: leaves }, (_, i) => ({ name: `leaf${i + 1}`, profile: 'frr-switch', serial: `BL${String(i + 1).padStart(4, '0')}` })),
  ];
  const links: string[][] = [];
  for (let l = 1; l <= leaves; l++) for (let s = 1; s <= spines; s++) links.push([`spine${s}:swp${l}`, `leaf${l}:swp${50 + s}`]);
  return validateTopology({
    name, devices, links,
    management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
    credentials: { username: 'admin', password: 'admin123' },
    snmp: { community: 'fabric-ro' },
  });
}

function kb(pid: number, file: string, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function memory(t: Topology): Promise<{ rssMiB: number; pssMiB: number; procs: number }> {
  let rss = 0;
  let pss = 0;
  let procs = 0;
  for (const d of t.devices) {
    const r = await run(['ip', 'netns', 'pids', `${t.name}-${d.name}`]);
    for (const p of r.stdout.split('\n').map(Number).filter((x) => x > 0)) {
      rss += kb(p, 'status', 'VmRSS');
      pss += kb(p, 'smaps_rollup', 'Pss');
      procs++;
    }
  }
  const n = t.devices.length;
  return { rssMiB: rss / 1024 / n, pssMiB: pss / 1024 / n, procs: procs / n };
}

async function one(spines: number, leaves: number, preconfigured: boolean): Promise<string> {
  const name = `b${spines}x${leaves}${preconfigured ? 'p' : 'g'}`.slice(0, 8);
  const root = mkdtempSync(join(tmpdir(), 'labbench-'));
  const topo = clos(name, spines, leaves);
  try {
    const t0 = Date.now();
    const up = await netnsBackend.up(topo, { preconfigured, root, timeoutSeconds: 300 });
    const upS = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // let daemons settle before measuring memory
    const mem = await memory(topo);
    if (preconfigured && spines === 2 && leaves === 4 && existsSync(GOLDEN)) process.stderr.write(`${await converge(topo, up.managementIps)}\n`);
    const t1 = Date.now();
    await netnsBackend.down(name, { root });
    const downS = (Date.now() - t1) / 1000;
    return `| ${spines}x${leaves} (${topo.devices.length} devices, ${topo.links.length} links) | ${preconfigured ? 'preconfigured' : 'greenfield'} | ${upS.toFixed(1)} s | ${mem.rssMiB.toFixed(0)} MiB | ${mem.pssMiB.toFixed(0)} MiB | ${mem.procs.toFixed(1)} | ${downS.toFixed(1)} s |`;
  } catch (e) {
    await netnsBackend.down(name, { root }).catch(() => undefined);
    throw e;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).map(Number);
  const shapes: [number, number][] = [];
  for (let i = 0; i + 1 < args.length; i += 2) shapes.push([args[i], args[i + 1]]);
  if (!shapes.length) shapes.push([2, 4], [4, 16]);
  const rows = ['| twin | mode | up | RSS / device | PSS / device | processes / device | down |', '|---|---|---|---|---|---|---|'];
  for (const [s, l] of shapes) {
    rows.push(await one(s, l, true));
    process.stderr.write(rows[rows.length - 1] + '\n');
    rows.push(await one(s, l, false));
    process.stderr.write(rows[rows.length - 1] + '\n');
  }
  process.stdout.write(rows.join('\n') + '\n');
}

void main().catch((e) => {
  process.stderr.write(`bench twin: ${(e as Error).message}\n`);
  process.exit(1);
});
