// The `fabric` command: a small registry of subcommand modules over commander.
// Errors print ONE line `fabric: <message>` to stderr and exit 1.
import { Command, CommanderError } from 'commander';
import { CliExit } from './context';
import type { CliContext } from './context';
import { registerRenderCommands } from './render';
import { registerInteropCommands } from './interop';
import { registerBackupCommands } from './backup';

export type { CliContext };
export { CliExit };

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

// ---------------------------------------------------------------- subcommand registry
// One registrar per module. Offline commands are always there; the service's API commands
// (fabrics, devices, jobs ... : H5) live in ./api-commands.ts exporting
// `registerApiCommands(program, ctx)`, picked up below when that module exists.
const REGISTRARS: CommandRegistrar[] = [registerRenderCommands, registerInteropCommands, registerBackupCommands];

function optionalRegistrars(): CommandRegistrar[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('./api-commands') as { registerApiCommands?: CommandRegistrar };
    return mod.registerApiCommands ? [mod.registerApiCommands] : [];
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { requireStack?: string[] };
    if (err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('./api-commands')) return [];
    throw e;
  }
}
// ---------------------------------------------------------------- end of registry

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'failed';
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('fabric')
    .description('data-center IP fabric lifecycle: render, onboard, autoconfigure')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
      // commander's own usage errors, as one `fabric:` line
      outputError: (s, write) => write(`fabric: ${firstLine(s).replace(/^error: /, '')}\n`),
    });
  for (const r of [...REGISTRARS, ...optionalRegistrars()]) r(program, ctx);
  return program;
}

const defaultCtx: CliContext = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

/** Run the CLI on argv (without node and script); resolves to the exit code. */
export async function main(argv: string[], ctx: CliContext = defaultCtx): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CliExit) return e.code;
    if (e instanceof CommanderError) {
      // help/version are exits with code 0; usage errors were already printed
      return e.exitCode === 0 ? 0 : 1;
    }
    ctx.err(`fabric: ${firstLine(e)}\n`);
    return 1;
  }
}

// Entry point: run when loaded by bin/fabric.js or directly with node.
const entry = require.main?.filename ?? '';
if (require.main === module || /[\\/]bin[\\/]fabric(\.js)?$/.test(entry)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
