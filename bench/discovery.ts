// Brownfield discovery of a /22 on the simulator: sweep (fping), SNMP system + LLDP, NETCONF
// facts, then the topology; checks that every device is found and every link is right.
//   npx tsc -p . && node dist/bench/discovery.js [--spines 4 --leaves 496] [--spines-per-pod 4 --cidr 127.20.0.0/21]
// Needs root: it makes a namespace `dsb<random>` holding only the sim's addresses (so the
// sweep finds exactly them), runs itself inside it, and removes it at the end.
import { spawn, fork } from 'node:child_process';
import { join } from 'node:path';
import { prepareSimNamespace, removeSimNamespace, simTopology, simLinkKeys } from '../src/lab/sim';
import { parseSimArgs } from '../src/lab/sim/main';
import { AllowList } from '../src/discovery/allow';
import { discoverBrownfield, nameFor, topologyOf } from '../src/discovery/brownfield';

const DEFAULT_CIDR = '127.20.0.0/22';
const cidrOf = (argv: string[]): string => { const i = argv.indexOf('--cidr'); return i >= 0 ? argv[i + 1] : DEFAULT_CIDR; };

async function outside(argv: string[]): Promise<number> {
  const o = { ...parseSimArgs(['--spines', '4', '--leaves', '496', ...argv]), cidr: cidrOf(argv) };
  const devs = simTopology(o);
  const ns = `dsb${Math.random().toString(36).slice(2, 7)}`;
  prepareSimNamespace(ns, devs.map((d) => d.address));
  try {
    return await new Promise<number>((resolve) => {
      const c = spawn('ip', ['netns', 'exec', ns, process.execPath, __filename, '--inside', ...argv], { stdio: 'inherit' });
      c.on('close', (code) => resolve(code ?? 1));
    });
  } finally {
    removeSimNamespace(ns);
  }
}

async function inside(argv: string[]): Promise<number> {
  const CIDR = cidrOf(argv);
  const simArgs = ['--spines', '4', '--leaves', '496', ...argv.filter((_, i) => argv[i] !== '--cidr' && argv[i - 1] !== '--cidr'), '--cidr', CIDR];
  const o = parseSimArgs(simArgs);
  const sim = fork(join(__dirname, '../src/lab/sim/main.js'), simArgs, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--max-semi-space-size=32'] });
  try {
    const ready = await new Promise<{ startupMs: number; rssMB: number; devices: number; links: number }>((resolve, reject) => {
      sim.once('message', (m) => resolve(m as never));
      sim.once('exit', (code) => reject(new Error(`sim exited (${code})`)));
    });
    const expected = simTopology(o);
    const t0 = Date.now();
    const r = await discoverBrownfield({
      subnets: [CIDR], managementSubnets: [CIDR], allow: new AllowList([CIDR]),
      snmp: { community: 'fabric-ro' }, credentials: { username: 'admin', password: 'admin123' },
      sweep: { intervalMs: 1, retries: 1, timeoutMs: 300, chunkSize: 256, concurrency: 4 },
      concurrency: 32, snmpTimeoutMs: 3000,
    });
    const listed = expected.map((d) => ({ name: d.name, serial: d.serial, physicalRole: d.role }));
    const found = r.devices.filter((d) => d.facts).map((d) => {
      const name = nameFor(d, listed)!;
      return { name, physicalRole: listed.find((l) => l.name === name)?.physicalRole, device: d };
    });
    const topo = topologyOf(found);
    const totalMs = Date.now() - t0;
    const simStats = await new Promise<{ cpu: NodeJS.CpuUsage; rssMB: number }>((resolve) => {
      sim.on('message', (m: any) => { if (m?.stats) resolve(m); });
      sim.send('stats');
    });
    const want = simLinkKeys(expected);
    const got = topo.links.map((l) => `${l.a.device}:${l.a.port}--${l.b.device}:${l.b.port}`);
    const missing = want.filter((k) => !got.includes(k));
    const extra = got.filter((k) => !want.includes(k));
    const errors = r.devices.flatMap((d) => d.errors);
    const serialsOk = expected.every((e) => found.some((f) => f.name === e.name && f.device.facts?.serial === e.serial && f.device.address === e.address));
    const result = {
      devices: expected.length, alive: r.alive.length, withFacts: found.length, errors: errors.length,
      links: got.length, expectedLinks: want.length, missingLinks: missing.length, extraLinks: extra.length, anomalies: topo.anomalies.length,
      serialsOk, sweepMs: r.timings.sweepMs, probeMs: r.timings.probeMs, totalMs,
      simStartupMs: ready.startupMs, simRssMB: simStats.rssMB,
      benchRssMB: Math.round(process.memoryUsage().rss / 1048576),
      // CPU seconds (user+system) since start: load-independent, unlike wall time on a shared VM
      benchCpuS: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1),
      simCpuS: +((simStats.cpu.user + simStats.cpu.system) / 1e6).toFixed(1),
      loadAvg1m: +(require('node:os').loadavg()[0]).toFixed(1),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (errors.length) process.stdout.write(`first errors: ${errors.slice(0, 5).join(' | ')}\n`);
    const ok = r.alive.length === expected.length && found.length === expected.length && missing.length === 0 && extra.length === 0 && topo.anomalies.length === 0 && serialsOk;
    process.stdout.write(ok ? `OK: ${expected.length} devices and ${want.length} links discovered in ${totalMs} ms\n` : 'FAILED\n');
    return ok ? 0 : 1;
  } finally {
    sim.kill('SIGTERM');
  }
}

const argv = process.argv.slice(2);
const run = argv[0] === '--inside' ? inside(argv.slice(1)) : outside(argv);
run.then((code) => process.exit(code), (e: Error) => { process.stderr.write(`bench: ${e.message}\n`); process.exit(1); });
