// `fabric render FILE --out DIR` (and `fabric validate`, `fabric plan`): the offline path
// file -> parse -> validate -> allocate -> compile -> render -> files. Everything is computed
// in memory first; files are written only when every device rendered.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Allocations, DevicePlan, FabricFile } from '../domain/types';
import { CliExit } from './context';
import type { CliContext } from './context';
import { FabricError } from '../domain/errors'; // small: the class, no compiler

// The compiler and the templates load when a command runs, not when `fabric --help` starts.
/* eslint-disable @typescript-eslint/no-require-imports */
const emptyAllocations = (): Allocations => (require('../intent/allocate') as typeof import('../intent/allocate')).emptyAllocations();
const planFabric: typeof import('../intent/compile').planFabric = (...a) => (require('../intent/compile') as typeof import('../intent/compile')).planFabric(...a);
const generate = () => require('../intent/generate') as typeof import('../intent/generate');
const platforms = () => require('../platforms') as typeof import('../platforms');
const renderDevice: typeof import('../platforms').renderDevice = (...a) => platforms().renderDevice(...a);
const parseFabricFile: typeof import('../domain/parse').parseFabricFile = (...a) => (require('../domain/parse') as typeof import('../domain/parse')).parseFabricFile(...a);
const collectFabricErrors: typeof import('../domain/validate').collectFabricErrors = (...a) => (require('../domain/validate') as typeof import('../domain/validate')).collectFabricErrors(...a);
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RenderedFabric {
  plans: DevicePlan[];
  allocations: Allocations;
  /** file name -> content, for every device */
  files: Record<string, string>;
  /** one line per broken rule of the rule check (src/platforms/rules.ts); empty when clean */
  ruleFindings: string[];
}

/** Pure: fabric file (YAML text or object) -> every device's config files. Throws on bad input. */
export function renderFabric(input: string | object, existing: Allocations = emptyAllocations()): RenderedFabric {
  const { plans, allocations } = planFabric(input, existing);
  const files: Record<string, string> = {};
  const rendered: { plan: DevicePlan; files: Record<string, string> }[] = [];
  for (const plan of plans) {
    const r = renderDevice(plan);
    rendered.push({ plan, files: r.files });
    for (const [name, text] of Object.entries(r.files)) {
      // Names come from device names (validated), but never let one escape DIR or overwrite another.
      if (basename(name) !== name || name.startsWith('.')) throw new Error(`device ${plan.name}: refusing output file name "${name}"`);
      if (name in files) throw new Error(`device ${plan.name}: output file ${name} is written twice`);
      files[name] = text;
    }
  }
  const { checkRenderedFabric, formatFinding } = platforms();
  return { plans, allocations, files, ruleFindings: checkRenderedFabric(rendered).map(formatFinding) };
}

/** The rendered fabric breaks rules of the rule check: nothing was written. */
export class RuleCheckFailed extends Error {
  constructor(readonly lines: string[]) {
    super(`${lines.length} rule(s) broken; nothing written`);
    this.name = 'RuleCheckFailed';
  }
}

function toInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a whole number`);
  return Number(v);
}

async function readFabricFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

async function readAllocations(path: string | undefined): Promise<Allocations> {
  if (!path) return emptyAllocations();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyAllocations(); // first run
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const a = JSON.parse(text) as Partial<Allocations>;
    return { loopbacks: a.loopbacks ?? {}, asns: a.asns ?? {}, links: a.links ?? {} };
  } catch (e) {
    throw new Error(`${path}: not an allocations JSON record: ${(e as Error).message}`);
  }
}

/**
 * Render FILE into DIR; returns the file names written (sorted). Writes nothing on error,
 * nor when the rendered configs break a rule of the rule check (RuleCheckFailed).
 * With `allocationsPath`, earlier allocations are read from (and the new record written to)
 * that JSON file, so re-renders after adding devices never renumber the others.
 */
export async function renderToDir(file: string, outDir: string, allocationsPath?: string): Promise<string[]> {
  const existing = await readAllocations(allocationsPath);
  const { files, allocations, ruleFindings } = renderFabric(await readFabricFile(file), existing);
  if (ruleFindings.length > 0) throw new RuleCheckFailed(ruleFindings);
  await mkdir(outDir, { recursive: true });
  const names = Object.keys(files).sort();
  for (const name of names) await writeFile(join(outDir, name), files[name]);
  if (allocationsPath) await writeFile(allocationsPath, `${JSON.stringify(allocations, null, 2)}\n`);
  return names;
}

export function registerRenderCommands(program: Command, ctx: CliContext): void {
  program
    .command('render')
    .description('render the config of every device of a fabric file into DIR (offline, no service)')
    .argument('<file>', 'fabric file (YAML or JSON)')
    .requiredOption('-o, --out <dir>', 'output directory (created when missing)')
    .option('-a, --allocations <file>', 'JSON record of earlier allocations to keep (updated on success)')
    .action(async (file: string, opts: { out: string; allocations?: string }) => {
      let names: string[];
      try {
        names = await renderToDir(file, opts.out, opts.allocations);
      } catch (e) {
        if (!(e instanceof RuleCheckFailed)) throw e;
        for (const line of e.lines) ctx.err(`${line}\n`);
        throw new CliExit(1);
      }
      ctx.out(`rendered ${names.length} files into ${opts.out}\n`);
    });

  program
    .command('generate')
    .description('print a generated Clos fabric file (YAML): spines in pods, every leaf uplinked to its pod\'s spines')
    .requiredOption('--spines <n>', 'number of spines', toInt)
    .requiredOption('--leaves <n>', 'number of leaves', toInt)
    .option('--pods <n>', 'pods (spines split evenly)', toInt, 1)
    .option('--rrs <n>', 'spines 1..n are route reflectors', toInt, 4)
    .option('--platform <p>', 'frr or junos', 'frr')
    .option('--name <name>', 'fabric name')
    .action((opts: { spines: number; leaves: number; pods: number; rrs: number; platform: string; name?: string }) => {
      if (opts.platform !== 'frr' && opts.platform !== 'junos') throw new Error(`--platform: "${opts.platform}" is not frr or junos`);
      const { fabricToYaml, generateClos } = generate();
      ctx.out(fabricToYaml(generateClos({ ...opts, platform: opts.platform })));
    });

  program
    .command('validate')
    .description('check a fabric file; prints every problem, one per line')
    .argument('<file>', 'fabric file (YAML or JSON)')
    .action(async (file: string) => {
      const text = await readFabricFile(file);
      let parsed: FabricFile | undefined;
      let errors: FabricError[];
      try {
        parsed = parseFabricFile(text);
        errors = collectFabricErrors(parsed);
      } catch (e) {
        // The schema's errors come all at once from parse (FabricError.errors).
        if (!(e instanceof FabricError)) throw e;
        errors = e.errors;
      }
      if (errors.length > 0 || !parsed) {
        for (const e of errors) ctx.err(`fabric: ${e.message}\n`);
        throw new CliExit(1);
      }
      const { plans } = planFabric(parsed); // allocation problems (exhausted pools) too
      ctx.out(`ok: ${plans.length} devices, ${parsed.links.length} links\n`);
    });

  program
    .command('plan')
    .description('print the allocations and device plans of a fabric file as JSON')
    .argument('<file>', 'fabric file (YAML or JSON)')
    .action(async (file: string) => {
      const { plans, allocations } = planFabric(await readFabricFile(file));
      ctx.out(`${JSON.stringify({ allocations, plans }, null, 2)}\n`);
    });
}
