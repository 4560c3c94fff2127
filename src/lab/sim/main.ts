// `npm run lab -- sim --spines S --leaves L [--cidr 127.20.0.0/22] [--spines-per-pod N]
//   [--install-ms MS] [--reboot-ms MS] [--fail-install dev1,dev2]`
// (also run directly: node dist/src/lab/sim/main.js ...). Prints one JSON line when ready;
// as a forked child it also sends {ready, ...} to its parent. Stops on SIGTERM/SIGINT.
import { runSim, type SimOptions } from './index';

export function parseSimArgs(argv: string[]): SimOptions {
  const o: SimOptions = { spines: 2, leaves: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new Error(`sim: ${a} needs an integer, got "${v ?? ''}"`);
      i++;
      return n;
    };
    if (a === '--spines') o.spines = num();
    else if (a === '--leaves') o.leaves = num();
    else if (a === '--spines-per-pod') o.spinesPerPod = num();
    else if (a === '--netconf-port') o.netconfPort = num();
    else if (a === '--snmp-port') o.snmpPort = num();
    else if (a === '--cidr') { o.cidr = v; i++; }
    else if (a === '--community') { o.community = v; i++; }
    else if (a === '--install-ms') o.install = { ...o.install, installMs: num() };
    else if (a === '--reboot-ms') o.install = { ...o.install, rebootMs: num() };
    else if (a === '--fail-install') { o.install = { ...o.install, failInstall: (v ?? '').split(',').filter(Boolean) }; i++; }
    else if (a === '--no-netconf') o.netconf = false;
    else if (a === '--no-snmp') o.snmp = false;
    else throw new Error(`sim: unknown option ${a}`);
  }
  return o;
}

export async function simMain(argv: string[]): Promise<void> {
  const sim = await runSim(parseSimArgs(argv));
  if (global.gc) global.gc();
  const mem = process.memoryUsage();
  const info = {
    ready: true, devices: sim.devices.length, links: sim.links.length, startupMs: sim.startupMs,
    rssMB: Math.round(mem.rss / 1048576), heapUsedMB: Math.round(mem.heapUsed / 1048576),
    first: sim.devices[0]?.address, last: sim.devices[sim.devices.length - 1]?.address,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.send?.(info);
  const stop = (): void => { void sim.stop().then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  // A parent (benchmarks) may ask for CPU and memory figures.
  process.on('message', (m) => {
    if (m === 'stats') process.send?.({ stats: true, cpu: process.cpuUsage(), rssMB: Math.round(process.memoryUsage().rss / 1048576) });
  });
}

if (require.main === module) {
  simMain(process.argv.slice(2)).catch((e: Error) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
}
