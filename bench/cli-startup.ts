// Benchmark: `fabric --help` startup (issue 18: under 300 ms). Spawns bin/fabric N times and,
// as the baseline the CLI cannot go below, `node -e 0`; reports median and p90 wall time and
// the CPU time of each run (the load-independent figure on a shared machine).
//   npx tsc -p . && node dist/bench/cli-startup.js [runs]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const RUNS = Number(process.argv[2] ?? 20);

function wallOf(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return wall;
}

/** User + system CPU of one run, from GNU time (Debian's `time` package). */
function cpuOf(args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8' });
  const m = /([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN;
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

function measure(name: string, args: string[]): void {
  const walls: number[] = [];
  const cpus: number[] = [];
  wallOf(args); // warm the file cache
  for (let i = 0; i < RUNS; i++) {
    walls.push(wallOf(args));
    cpus.push(cpuOf(args));
  }
  process.stdout.write(`${name.padEnd(22)} wall median ${pct(walls, 50).toFixed(0)} ms  p90 ${pct(walls, 90).toFixed(0)} ms  cpu median ${pct(cpus, 50).toFixed(0)} ms\n`);
}

process.stdout.write(`node ${process.version}, ${RUNS} runs each, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
measure('node -e 0 (baseline)', ['-e', '0']);
measure('fabric --help', [join(ROOT, 'bin', 'fabric.js'), '--help']);
measure('fabric --version', [join(ROOT, 'bin', 'fabric.js'), '--version']);
measure('fabric devices --help', [join(ROOT, 'bin', 'fabric.js'), 'devices', '--help']);
