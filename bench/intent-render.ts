// Benchmark: intent + render for the design's fixed fabric shapes, each in a fresh process
// (cold: template compilation included), frr-switch and Junos profiles.
//   npx tsc -p . && node dist/bench/intent-render.js            # all shapes
//   node dist/bench/intent-render.js 1056 frr                    # one shape, this process
// Stages timed: parse (YAML text) + validate + allocate + compile + render (in memory),
// then writing the files into a temp directory as `fabric render` does.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFabricFile } from '../src/domain/parse';
import { loadProfiles, loadRoleFeatures } from '../src/domain/profiles';
import { validateFabric } from '../src/domain/validate';
import { allocate, emptyAllocations } from '../src/intent/allocate';
import { compileFabric } from '../src/intent/compile';
import { ClosOptions, ClosPlatform, fabricToYaml, generateClos } from '../src/intent/generate';
import { renderDevice } from '../src/platforms';

const SHAPES: Record<string, Omit<ClosOptions, 'platform'>> = {
  // 32 spines (spines 1-4 RRs) + 1,024 leaves, 8 pods of 4 spines x 128 leaves
  1056: { spines: 32, leaves: 1024, rrs: 4, pods: 8 },
  // 40 spines + 4,960 leaves, 10 pods of 4 spines x 496 leaves
  5000: { spines: 40, leaves: 4960, rrs: 4, pods: 10 },
};
const TARGET_MS: Record<string, number> = { 1056: 2000, 5000: 10000 };

interface Result {
  shape: string; platform: ClosPlatform; devices: number; links: number; files: number; bytes: number;
  ms: Record<string, number>; cpu: Record<string, number>; totalMs: number; cpuMs: number; writeMs: number; load: number;
}

async function runOne(shape: string, platform: ClosPlatform): Promise<Result> {
  const text = fabricToYaml(generateClos({ ...SHAPES[shape], platform }));
  const ms: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  let t = performance.now();
  let c = process.cpuUsage();
  const lap = (name: string) => {
    const now = performance.now();
    const cu = process.cpuUsage(c);
    ms[name] = now - t;
    cpu[name] = (cu.user + cu.system) / 1000;
    t = now;
    c = process.cpuUsage();
  };
  const t0 = t;
  const c0 = process.cpuUsage();
  const profiles = loadProfiles();
  loadRoleFeatures();
  lap('load profiles');
  const file = parseFabricFile(text);
  lap('parse');
  validateFabric(file, profiles);
  lap('validate');
  const allocations = allocate(file, emptyAllocations());
  lap('allocate');
  const plans = compileFabric(file, allocations, profiles);
  lap('compile');
  const files: Record<string, string> = {};
  for (const p of plans) Object.assign(files, renderDevice(p).files);
  lap('render');
  const totalMs = t - t0;
  const cu = process.cpuUsage(c0);
  const cpuMs = (cu.user + cu.system) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'bench-render-'));
  try {
    const w0 = performance.now();
    await mkdir(dir, { recursive: true });
    for (const [n, body] of Object.entries(files)) await writeFile(join(dir, n), body);
    const writeMs = performance.now() - w0;
    const bytes = Object.values(files).reduce((s, b) => s + Buffer.byteLength(b), 0);
    return {
      shape, platform, devices: file.devices.length, links: file.links.length, files: Object.keys(files).length,
      bytes, ms, cpu, totalMs, cpuMs, writeMs, load: loadavg()[0],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(r: Result): string {
  const stages = Object.entries(r.ms).map(([k, v]) => `${k} ${v.toFixed(0)}/${r.cpu[k].toFixed(0)}`).join(', ');
  const ok = r.totalMs < TARGET_MS[r.shape] ? 'OK' : 'OVER';
  return `${r.shape} devices (${r.platform}): ${r.devices} devices, ${r.links} links -> ${r.files} files, `
    + `${(r.bytes / 1048576).toFixed(1)} MiB; intent+render ${(r.totalMs / 1000).toFixed(2)} s wall, `
    + `${(r.cpuMs / 1000).toFixed(2)} s cpu (wall/cpu ms: ${stages}); +write ${(r.writeMs / 1000).toFixed(2)} s; `
    + `target ${TARGET_MS[r.shape] / 1000} s ${ok}; load average ${r.load.toFixed(1)}`;
}

async function mainBench(): Promise<void> {
  const [shape, platform] = process.argv.slice(2);
  if (shape) {
    if (!SHAPES[shape] || (platform !== 'frr' && platform !== 'junos')) throw new Error('usage: intent-render.js [1056|5000 frr|junos]');
    const r = await runOne(shape, platform);
    if (process.send) process.send(r); else console.log(fmt(r));
    return;
  }
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  for (const s of Object.keys(SHAPES)) {
    for (const p of ['frr', 'junos'] as const) {
      const r = await new Promise<Result>((resolve, reject) => {
        const child = fork(__filename, [s, p], { stdio: 'inherit' });
        let got: Result | undefined;
        child.on('message', (m) => { got = m as Result; });
        child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${s} ${p}: exit ${code}`))));
      });
      console.log(fmt(r));
    }
  }
}

mainBench().catch((e) => { console.error(`bench: ${(e as Error).message}`); process.exitCode = 1; });
