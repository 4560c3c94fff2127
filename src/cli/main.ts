// The `fabric` command: a small registry of subcommand modules over commander.
// Errors print ONE line `fabric: <message>` to stderr and exit 1.
import { Command, CommanderError } from 'commander';
import { CliExit } from './context';
import type { CliContext } from './context';
import { registerRenderCommands } from './render';
import { registerInteropCommands } from './interop';
import { registerBackupCommands } from './backup';
import { registerApiCommands } from './api-commands';
import { registerGeneratedCommands } from './generated';
import { registerCompletionCommand } from './completion';
import { ApiClientError } from './api-client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type { CliContext };
export { CliExit };

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

// ---------------------------------------------------------------- subcommand registry
// One registrar per module. The hand-written API commands come before the generated ones
// (one per API operation, from command-table.json) so a hand-written name wins. Completion
// goes last: it reads the whole tree. Nothing here loads fastify, the compiler or the
// templates: `fabric --help` starts in well under 300 ms (docs/cli.md).
const REGISTRARS: CommandRegistrar[] = [registerRenderCommands, registerInteropCommands, registerBackupCommands, registerApiCommands, registerGeneratedCommands, registerCompletionCommand];
// ---------------------------------------------------------------- end of registry

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'failed';
}

/** The package's version: package.json two levels up from src/cli, three from dist/src/cli. */
function packageVersion(): string {
  for (const up of ['../..', '../../..']) {
    try { return (JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version; } catch { /* next */ }
  }
  return 'unknown';
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('fabric')
    .description('data-center IP fabric lifecycle: render, onboard, autoconfigure, and every API operation (FABRIC_API_URL, FABRIC_TOKEN)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
      // commander's own usage errors, as one `fabric:` line
      outputError: (s, write) => write(`fabric: ${firstLine(s).replace(/^error: /, '')}\n`),
    });
  for (const r of REGISTRARS) r(program, ctx);
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
    // A rejected input: every problem the service found, one line each, with its path.
    const problems = e instanceof ApiClientError ? e.body?.errors : undefined;
    if (problems && problems.length > 1) {
      // Each message already starts with where (`devices[1].name: ...`).
      for (const p of problems) ctx.err(`fabric: ${firstLine(p.message)}\n`);
      return 1;
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
