// `npm run bench`: builds (tsc) and runs benchmarks one after another, each in its own process, printing what each prints. Without
// names: the quick set that needs no root and no browser (intent + render, store, queue: about
// two minutes on an idle 2-core machine). With names: those, with their default arguments;
// `--list` says what there is. Figures and how to read them: docs/BENCHMARKS.md.
//   npm run bench                      # quick set
//   npm run bench -- queue api         # these
//   node dist/bench/run.js --list
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';

interface Bench { name: string; args: string[]; what: string; root?: boolean; quick?: boolean; nodeFlags?: string[] }

const BENCHES: Bench[] = [
  { name: 'intent-render', args: ['1056', 'frr'], what: 'intent + render of the 1,056-device Clos (frr)', quick: true },
  { name: 'store', args: ['1056'], what: 'store writes and reads, 1,056 devices', quick: true },
  { name: 'queue', args: ['20000', '100', '5000', '--procs', '1,2,4'], what: 'BullMQ and fabric-flow device jobs/s, in 1, 2, 4 worker processes', quick: true },
  { name: 'api', args: ['200', '20', '1000'], what: 'API latency, GET devices of a 1,000-device fabric at 200/s' },
  { name: 'autoconfigure-sim', args: ['500', '50'], what: 'autoconfigure of 500 simulator devices over NETCONF' },
  { name: 'upgrade-sim', args: ['500', '20'], what: 'rolling upgrade of 500 simulator devices, maxParallel 20 (the real job)' },
  { name: 'netconf', args: ['--sessions', '200', '--rounds', '3'], what: '200 concurrent NETCONF sessions', nodeFlags: ['--expose-gc'] },
  { name: 'fuzz-api', args: ['10000', '1'], what: 'API fuzz, 10,000 requests' },
  { name: 'ui', args: ['5'], what: 'web UI first render, 1,056 devices (chromium; needs `node ui/build.mjs`)' },
  { name: 'discovery', args: [], what: 'brownfield discovery of 500 simulator devices', root: true, nodeFlags: ['--max-semi-space-size=32'] },
  { name: 'sim', args: [], what: 'simulator start-up, 500 devices', root: true },
  { name: 'twin', args: ['2', '4'], what: 'twin bring-up, 2x4 (netns)', root: true },
];

function main(): number {
  const argv = process.argv.slice(2);
  if (argv.includes('--list')) {
    for (const b of BENCHES) process.stdout.write(`${b.name.padEnd(18)} ${b.quick ? 'quick ' : '      '}${b.root ? 'root ' : '     '}${b.what}\n`);
    return 0;
  }
  const unknown = argv.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`bench: unknown ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.name).join(', ')})\n`);
    return 2;
  }
  const chosen = argv.length ? BENCHES.filter((b) => argv.includes(b.name)) : BENCHES.filter((b) => b.quick);
  const failed: string[] = [];
  for (const b of chosen) {
    const file = path.join(__dirname, `${b.name}.js`);
    if (!existsSync(file)) { process.stderr.write(`bench: ${file} missing: build first (npx tsc -p .)\n`); return 2; }
    if (b.root && process.getuid?.() !== 0) { process.stderr.write(`bench ${b.name}: needs root (network namespaces); skipped\n`); failed.push(b.name); continue; }
    process.stdout.write(`\n## ${b.name}: ${b.what} (load ${loadavg().map((x) => x.toFixed(2)).join(' ')})\n`);
    const r = spawnSync(process.execPath, [...(b.nodeFlags ?? []), file, ...b.args], { stdio: 'inherit' });
    if (r.status !== 0) failed.push(b.name);
  }
  if (failed.length) process.stderr.write(`bench: did not finish: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

process.exit(main());
