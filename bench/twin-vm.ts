// Benchmark: the twin's vm backend (root; qemu-system-x86_64, debootstrap).
//   npx tsc -p . && node dist/bench/twin-vm.js [SPINES LEAVES] [--preconfigured]
// Reports: image build time (as recorded by the build; "cached" when it already existed),
// VM boot time to a working control channel, lab up time for a SPINESxLEAVES twin (default 2x4)
// with every device bootstrapped and serving NETCONF, qemu's resident memory and the guest's
// used memory per device, then down time. Prints one JSON line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateTopology } from '../src/lab/topology';
import { LabPaths, readRecord } from '../src/lab/state';
import { ensureImage, vmBackend, type VmRecord } from '../src/lab/vm';

function topology(name: string, spines: number, leaves: number): ReturnType<typeof validateTopology> {
  const devices = [
    ...Array.from({ length: spines }, (_v, i) => ({ name: `spine${i + 1}`, profile: 'frr-switch', serial: `BS${String(i + 1).padStart(4, '0')}` })),
    ...Array.from({ length: leaves }, (_v, i) => ({ name: `leaf${i + 1}`, profile: 'frr-switch', serial: `BL${String(i + 1).padStart(4, '0')}` })),
  ];
  const links: [string, string][] = [];
  for (let s = 1; s <= spines; s++) for (let l = 1; l <= leaves; l++) links.push([`spine${s}:swp${l}`, `leaf${l}:swp${50 + s}`]);
  return validateTopology(
    {
      name, devices, links, servers: [],
      management: { cidr: '10.0.0.0/22', gateway: '10.0.0.1' },
      credentials: { username: 'admin', password: 'admin123' },
      snmp: { community: 'fabric-ro' },
    },
    'bench',
  );
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const spines = Number(args[0] ?? 2);
  const leaves = Number(args[1] ?? 4);
  const name = `bvm${process.pid % 10000}`;
  const root = mkdtempSync(join(tmpdir(), 'bench-vm-'));
  const lines: string[] = [];
  const log = (l: string): void => {
    lines.push(l);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`${l}\n`);
  };
  const t0 = Date.now();
  const image = await ensureImage({ log });
  const imageSeconds = (Date.now() - t0) / 1000;
  const topo = topology(name, spines, leaves);
  try {
    const t1 = Date.now();
    const up = await vmBackend.up(topo, { root, preconfigured: true, timeoutSeconds: 900, log });
    const upSeconds = (Date.now() - t1) / 1000;
    const vm = readRecord(new LabPaths(name, root))?.extra?.vm as VmRecord;
    const guestUsed = (await vmBackend.execCapture(name, 'vm', ['sh', '-c', "free -m | awk '/^Mem:/ {print $3}'"], { root })).stdout.trim();
    const qemuRss = rssMb(vm.pid);
    const t2 = Date.now();
    await vmBackend.down(name, { root });
    const downSeconds = (Date.now() - t2) / 1000;
    const out = {
      bench: 'twin-vm', shape: `${spines}x${leaves}`, devices: topo.devices.length, accel: vm.accel,
      image: image.built ? `built in ${image.buildSeconds} s` : `cached (${image.key}, build took ${image.buildSeconds} s)`,
      imageCheckSeconds: imageSeconds, vmBootSeconds: vm.bootSeconds, upSeconds, downSeconds,
      qemuRssMb: qemuRss, guestUsedMb: Number(guestUsed), guestUsedMbPerDevice: Math.round(Number(guestUsed) / topo.devices.length),
      managementIps: Object.keys(up.managementIps).length,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      host: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), date: new Date().toISOString(),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } catch (e) {
    process.stderr.write(`bench failed: ${(e as Error).message}\n${lines.slice(-20).join('\n')}\n`);
    await vmBackend.down(name, { root }).catch(() => undefined);
    process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
