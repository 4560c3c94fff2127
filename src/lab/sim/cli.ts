// `npm run lab -- sim --spines S --leaves L [--cidr 127.20.0.0/22] [--spines-per-pod N]
//   [--netns dsNAME]` (wired by src/lab/cli.ts). With --netns the sim runs inside a namespace of
// its own holding only the devices' addresses (so a ping sweep there finds exactly them); the
// namespace is removed when the sim stops.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { prepareSimNamespace, removeSimNamespace, simTopology } from './index';
import { parseSimArgs, simMain } from './main';

export async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--netns');
  if (i < 0) return simMain(argv);
  const ns = argv[i + 1];
  if (!ns) throw new Error('sim: --netns needs a name (ds...)');
  const rest = [...argv.slice(0, i), ...argv.slice(i + 2)];
  const devs = simTopology(parseSimArgs(rest));
  prepareSimNamespace(ns, devs.map((d) => d.address));
  process.stdout.write(`sim: namespace ${ns} holds ${devs.length} addresses; run discovery there: ip netns exec ${ns} ...\n`);
  const code = await new Promise<number>((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, process.execPath, join(__dirname, 'main.js'), ...rest], { stdio: 'inherit' });
    const fwd = (s: NodeJS.Signals): void => { c.kill(s); };
    process.on('SIGINT', fwd);
    process.on('SIGTERM', fwd);
    c.on('close', (code) => resolve(code ?? 1));
  });
  removeSimNamespace(ns);
  process.exitCode = code;
}
