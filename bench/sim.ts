// Simulator start-up time and memory: N devices (default 4 spines + 496 leaves) with NETCONF and
// SNMP, in a namespace of our own (dsS<random>), measured in a fresh process.
//   npx tsc -p . && node dist/bench/sim.js [--spines 4 --leaves 496]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { prepareSimNamespace, removeSimNamespace, simTopology } from '../src/lab/sim';
import { parseSimArgs } from '../src/lab/sim/main';

async function main(): Promise<number> {
  const argv = ['--spines', '4', '--leaves', '496', '--cidr', '127.20.0.0/22', ...process.argv.slice(2)];
  const devs = simTopology(parseSimArgs(argv));
  const ns = `dss${randomBytes(3).toString('hex')}`;
  prepareSimNamespace(ns, devs.map((d) => d.address));
  try {
    const t0 = Date.now();
    const line = await new Promise<string>((resolve, reject) => {
      const c = spawn('ip', ['netns', 'exec', ns, process.execPath, '--expose-gc', '--max-semi-space-size=32', join(__dirname, '../src/lab/sim/main.js'), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const l = out.split('\n').find((x) => x.startsWith('{'));
        if (l) { c.kill('SIGTERM'); resolve(l); }
      });
      c.on('close', (code) => reject(new Error(`sim exited (${code}) before it was ready`)));
    });
    const info = JSON.parse(line) as { devices: number; links: number; startupMs: number; rssMB: number; heapUsedMB: number };
    const result = { ...info, processToReadyMs: Date.now() - t0, perDeviceKB: Math.round((info.rssMB * 1024) / info.devices) };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const ok = info.startupMs < 10_000 && info.rssMB < 1024;
    process.stdout.write(ok ? `OK: ${info.devices} devices up in ${info.startupMs} ms, RSS ${info.rssMB} MB\n` : 'OVER TARGET (10 s, 1 GB)\n');
    return ok ? 0 : 1;
  } finally {
    removeSimNamespace(ns);
  }
}

main().then((c) => process.exit(c), (e: Error) => { process.stderr.write(`bench: ${e.message}\n`); process.exit(1); });
