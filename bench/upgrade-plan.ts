// Benchmark: the rolling-upgrade planner (src/jobs/upgrade/plan.ts) on large fabrics, pure CPU.
//   npx tsc -p . && node dist/bench/upgrade-plan.js
// Shapes: 500 devices (20 spines, 480 leaves as 240 dual-homed pairs, 4 RRs) and 5,000
// (40 spines, 4,960 leaves), maxParallel 20; best of 5 runs after one warm-up.
import { loadavg } from 'node:os';
import { planUpgrade, type PlanDevice, type PlanInput } from '../src/jobs/upgrade/plan';

function fabric(spines: number, leaves: number, maxParallel: number): PlanInput {
  const devices: PlanDevice[] = [];
  const base = { platform: 'frr', osVersion: '8.4.4', managedState: 'active', managementIp: '10.0.0.1' };
  for (let i = 1; i <= spines; i++) devices.push({ ...base, name: `spine${i}`, physicalRole: 'spine', roles: i <= 4 ? ['Route-Reflector'] : [] });
  for (let i = 1; i <= leaves; i++) devices.push({ ...base, name: `leaf${i}`, physicalRole: 'leaf', roles: ['ERB-UCAST-Gateway'] });
  const servers = Array.from({ length: leaves / 2 }, (_, i) => ({ name: `bms${i}`, devices: [`leaf${2 * i + 1}`, `leaf${2 * i + 2}`] }));
  return { devices, servers, image: { name: 'frr-9.1', platform: 'frr', version: '9.1.0' }, maxParallel };
}

for (const [spines, leaves] of [[20, 480], [40, 4960]]) {
  const input = fabric(spines, leaves, 20);
  planUpgrade(input);
  let best = Infinity;
  let plan = planUpgrade(input);
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    plan = planUpgrade(input);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sizes = plan.batches.map((b) => b.devices.length);
  console.log(JSON.stringify({ devices: spines + leaves, maxParallel: 20, planMs: Number(best.toFixed(1)), batches: plan.batches.length, largest: Math.max(...sizes), load1: Number(loadavg()[0].toFixed(2)) }));
}
