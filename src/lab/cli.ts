// `npm run lab -- up FILE [--preconfigured [--running DIR]] [--backend netns|vm] | down NAME | status NAME | exec LAB NODE -- CMD | list | sim ...`
// `npm run lab -- power LAB DEVICE off|on | replace LAB DEVICE --serial NEW` (netns labs; RMA in the twin)
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseTopologyText, TopologyError, LAB_NAME_RE } from './topology';
import { backendOfLab, pickBackend } from './backends';
import { readRunningDir } from './running';
import { labNames, requireRoot } from './netns';
import { powerOff, powerOn, replaceDevice } from './power';
import type { BackendKind, LabStatus } from './backend';

function fail(msg: string): never {
  process.stderr.write(`lab: ${msg}\n`);
  process.exit(1);
}

function checkName(name: string): void {
  if (!LAB_NAME_RE.test(name)) fail(`"${name}" is not a lab name (1-8 of [a-z0-9])`);
}

export function formatStatus(s: LabStatus): string {
  const lines = [`lab ${s.name} (${s.backend}) ${s.running ? 'running' : 'not running'}  dir ${s.dir}`,
    `management ${s.management.cidr} gateway ${s.management.gateway} on ${s.management.bridge} in ${s.management.namespace}`];
  const w = Math.max(6, ...s.nodes.map((n) => n.name.length));
  lines.push(`${'NODE'.padEnd(w)}  KIND    STATE            MGMT IP          OS       BGP`);
  for (const n of s.nodes) {
    const est = (n.bgp ?? []).filter((b) => b.state === 'Established').length;
    const bgp = n.kind === 'device' ? `${est}/${(n.bgp ?? []).length} established` : '';
    lines.push(`${n.name.padEnd(w)}  ${n.kind.padEnd(6)}  ${(n.state ?? '-').padEnd(15)}  ${(n.managementIp ?? '-').padEnd(15)}  ${(n.osVersion ?? '-').padEnd(7)}  ${bgp}`);
    for (const b of n.bgp ?? []) lines.push(`${''.padEnd(w)}    ${b.afi ?? ''} ${b.peer} AS${b.remoteAs ?? '?'} ${b.state}${b.prefixesReceived !== undefined ? ` pfx ${b.prefixesReceived}` : ''}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('lab').description('digital twin: fabrics of real FRR devices in network namespaces (or a VM)').showHelpAfterError();
  program.exitOverride();

  program.command('up')
    .argument('<file>', 'topology file (YAML)')
    .option('--preconfigured', 'management addresses from the file, bootstrap applied (brownfield)')
    .option('--running <dir>', 'with --preconfigured: DIR/<device>.frr.conf is the FRR config the device runs from boot (brownfield)')
    .addOption(new Option('--backend <kind>', 'force a backend').choices(['netns', 'vm']))
    .option('--timeout <seconds>', 'seconds to wait for the devices', '180')
    .option('--dir <root>', 'root of lab directories (default $LAB_DIR or ./.lab)')
    .action(async (file: string, o: { preconfigured?: boolean; running?: string; backend?: BackendKind; timeout: string; dir?: string }) => {
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch (e) { fail(`${file}: ${(e as Error).message}`); }
      let topo;
      try { topo = parseTopologyText(text, file); } catch (e) { if (e instanceof TopologyError) fail(e.message); throw e; }
      if (o.running && !o.preconfigured) fail('--running needs --preconfigured (a device in factory default runs no config)');
      let running;
      try { running = o.running ? readRunningDir(o.running, topo) : undefined; } catch (e) { fail((e as Error).message); }
      requireRoot();
      const log = (l: string): void => { process.stderr.write(`lab: ${l}\n`); };
      const backend = await pickBackend(topo, o.backend, log);
      const r = await backend.up(topo, { preconfigured: !!o.preconfigured, running, root: o.dir, log, timeoutSeconds: Number(o.timeout), topologyDir: dirname(resolve(file)) });
      process.stdout.write(r.hints.join('\n') + '\n');
    });

  program.command('down')
    .argument('<name>', 'lab name')
    .option('--dir <root>', 'root of lab directories')
    .action(async (name: string, o: { dir?: string }) => {
      checkName(name);
      requireRoot();
      await backendOfLab(name, o.dir).down(name, { root: o.dir, log: (l) => process.stderr.write(`lab: ${l}\n`) });
    });

  program.command('status')
    .argument('<name>', 'lab name')
    .option('--json', 'machine-readable')
    .option('--dir <root>', 'root of lab directories')
    .action(async (name: string, o: { json?: boolean; dir?: string }) => {
      checkName(name);
      const s = await backendOfLab(name, o.dir).status(name, { root: o.dir });
      process.stdout.write((o.json ? JSON.stringify(s, null, 2) : formatStatus(s)) + '\n');
    });

  program.command('exec')
    .argument('<lab>', 'lab name')
    .argument('<node>', 'node name, or ctl')
    .argument('<cmd...>', 'command (after --)')
    .option('--dir <root>', 'root of lab directories')
    .action(async (lab: string, node: string, cmd: string[], o: { dir?: string }) => {
      checkName(lab);
      const code = await backendOfLab(lab, o.dir).exec(lab, node, cmd, { root: o.dir });
      process.exitCode = code;
    });

  program.command('power')
    .description('power a device off (its processes gone, its ports down: a dead box) or on again')
    .argument('<lab>', 'lab name')
    .argument('<device>', 'device name')
    .argument('<state>', 'off | on')
    .option('--dir <root>', 'root of lab directories')
    .action(async (lab: string, device: string, state: string, o: { dir?: string }) => {
      checkName(lab);
      if (state !== 'off' && state !== 'on') fail(`power: "${state}" is not off or on`);
      const log = (l: string): void => { process.stderr.write(`lab: ${l}\n`); };
      if (state === 'off') await powerOff(lab, device, { root: o.dir, log });
      else await powerOn(lab, device, { root: o.dir, log });
    });

  program.command('replace')
    .description('RMA in the twin: the old box off, a factory-default one with --serial up on the same cables')
    .argument('<lab>', 'lab name')
    .argument('<device>', 'device name')
    .requiredOption('--serial <serial>', "the replacement's serial")
    .option('--dir <root>', 'root of lab directories')
    .action(async (lab: string, device: string, o: { serial: string; dir?: string }) => {
      checkName(lab);
      await replaceDevice(lab, device, o.serial, { root: o.dir, log: (l) => process.stderr.write(`lab: ${l}\n`) });
    });

  program.command('list')
    .option('--dir <root>', 'root of lab directories')
    .action((o: { dir?: string }) => {
      process.stdout.write(labNames(o.dir).join('\n') + '\n');
    });

  program.command('sim')
    .description('scale simulator (src/lab/sim)')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      let mod: { main?: (a: string[]) => Promise<void> };
      try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        mod = require('./sim/cli') as typeof mod;
      } catch (e) {
        fail(`the simulator is not available: ${(e as Error).message.split('\n')[0]}`);
      }
      if (!mod.main) fail('src/lab/sim/cli exports no main(argv)');
      await mod.main(args);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return;
    if (err.code?.startsWith('commander.')) process.exit(err.exitCode ?? 1);
    fail(err.message);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
