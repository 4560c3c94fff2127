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
    await netnsBackend.up(topo, { preconfigured, root, timeoutSeconds: 300 });
    const upS = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // let daemons settle before measuring memory
    const mem = await memory(topo);
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
