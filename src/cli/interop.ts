// `fabric export netbox|containerlab FABRIC` and `fabric import netbox DIR` (docs/interop.md).
// FABRIC is a fabric file (offline: addresses from intent, in memory) or, when no such file
// exists, the name of a fabric on the service (FABRIC_API_URL, FABRIC_TOKEN).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ApiClient, clientOptionsFromEnv } from './api-client';

// The interop code (compiler, templates) loads when a command runs, not at `fabric --help`.
/* eslint-disable @typescript-eslint/no-require-imports */
const lib = () => ({
  ...(require('../domain/profiles') as typeof import('../domain/profiles')),
  ...(require('../intent/compile') as typeof import('../intent/compile')),
  ...(require('../interop/netbox') as typeof import('../interop/netbox')),
  ...(require('../interop/containerlab') as typeof import('../interop/containerlab')),
  ...(require('../interop/service') as typeof import('../interop/service')),
});
/* eslint-enable @typescript-eslint/no-require-imports */
type FabricFromService = typeof import('../interop/service').fabricFromService;

async function source(ctx: CliContext, fabric: string): Promise<{ offline: string } | { service: Awaited<ReturnType<FabricFromService>> }> {
  if (existsSync(fabric)) return { offline: await readFile(fabric, 'utf8') };
  if (/[/\\]|\.ya?ml$|\.json$/.test(fabric)) throw new Error(`${fabric}: no such file`);
  return { service: await lib().fabricFromService(new ApiClient(clientOptionsFromEnv(ctx.env)), fabric) };
}

function report(ctx: CliContext, dir: string, written: string[], notes: string[]): void {
  ctx.out(`wrote ${written.length} files to ${dir}: ${written.join(', ')}\n`);
  for (const n of notes) ctx.err(`note: ${n}\n`);
}

export function registerInteropCommands(program: Command, ctx: CliContext): void {
  const exp = program.command('export').description('write a fabric in another tool\'s format (NetBox, containerlab)');
  exp.command('netbox').argument('<fabric>', 'fabric file, or the name of a fabric on the service')
    .option('--out <dir>', 'output directory (default: netbox-<fabric>)')
    .description('NetBox bulk-import files: sites, device types, devices, interfaces, cables, IP addresses, ASNs ...')
    .action(async (fabric: string, o: { out?: string }) => {
      const { exportFabric, planFabric, loadProfiles, netboxExport, writeFiles } = lib();
      const src = await source(ctx, fabric);
      let out: { files: Record<string, string>; notes: string[] };
      let name: string;
      if ('offline' in src) {
        out = exportFabric(src.offline);
        name = planFabric(src.offline).file.fabric.name;
      } else {
        const profiles = loadProfiles();
        const { file, plans, allocations } = planFabric(src.service.file, src.service.existing, profiles);
        out = netboxExport(file, plans, allocations, profiles, src.service.facts);
        name = file.fabric.name;
      }
      const dir = o.out ?? `netbox-${name}`;
      report(ctx, dir, await writeFiles(dir, out.files), out.notes);
    });
  exp.command('containerlab').argument('<fabric>', 'fabric file, or the name of a fabric on the service')
    .option('--out <dir>', 'output directory (default: clab-<fabric>)')
    .option('--image <image>', 'FRR container image of the switches')
    .description('a containerlab topology: FRR nodes with the rendered configs bound, the links as stored')
    .action(async (fabric: string, o: { out?: string; image?: string }) => {
      const { planFabric, fabricToContainerlab, renderedSwitches, writeFiles } = lib();
      const src = await source(ctx, fabric);
      const r = 'offline' in src
        ? (() => { const p = planFabric(src.offline); return fabricToContainerlab(p.file, renderedSwitches(p.plans), { image: o.image }); })()
        : fabricToContainerlab(src.service.file, await src.service.switches(), { image: o.image });
      const dir = o.out ?? `clab-${r.topology.replace(/\.clab\.yml$/, '')}`;
      report(ctx, dir, await writeFiles(dir, r.files), [`run it: cd ${dir} && sudo containerlab deploy -t ${r.topology}`]);
    });
  const imp = program.command('import').description('read a fabric from another tool (NetBox)');
  imp.command('netbox').argument('<dir>', 'NetBox bulk-import files (as `fabric export netbox` writes them) or REST JSON dumps')
    .option('--out <file>', 'fabric file to write (default: stdout)')
    .option('--site <name>', 'the site that is the fabric (when the files hold several)')
    .option('--base <file>', 'fabric file supplying what NetBox does not hold: credentials, SNMP, settings, services')
    .option('--allocations <file>', 'also write NetBox\'s addresses and ASNs as an allocations record (for `fabric render --allocations`)')
    .description('a fabric file from NetBox')
    .action(async (dir: string, o: { out?: string; site?: string; base?: string; allocations?: string }) => {
      const { importDir, fabricYaml } = lib();
      const r = await importDir(dir, { site: o.site, base: o.base });
      const yaml = fabricYaml(r.file, [`imported from NetBox (${dir}) by fabric import netbox`]);
      if (o.out) await writeFile(o.out, yaml); else ctx.out(yaml);
      if (o.allocations) await writeFile(o.allocations, `${JSON.stringify(r.allocations, null, 1)}\n`);
      for (const n of r.notes) ctx.err(`note: ${n}\n`);
      if (o.out) ctx.err(`wrote ${o.out} (${r.file.devices.length} devices, ${r.file.links.length} links)\n`);
    });
}
