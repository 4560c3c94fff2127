// The REST commands, one per API operation, from the checked-in command table
// (command-table.json, generated from the OpenAPI document by `npm run cli-table`). A
// hand-written command of the same name (api-commands.ts) wins: those add what plain REST
// does not (a progress bar, a fabric file, text configs).
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliContext } from './context';
import { ApiClient, clientOptionsFromEnv } from './api-client';
import { formatReply, withOutput, type OutputFormat } from './output';
import { endOf, follow } from './watch';
import type { CliOperation, CliParam } from './table-build';
import TABLE from './command-table.json';

export const OPERATIONS = (TABLE as { operations: CliOperation[] }).operations;

/** Path parameter -> the argument's name in help (`{f}` reads as <fabric>). */
const ARG_NAMES = new Map([['f', 'fabric'], ['d', 'device'], ['n', 'name'], ['id', 'id'], ['link', 'link']]);
export const argName = (p: string) => ARG_NAMES.get(p) ?? p;

/** `physicalRole` -> `physical-role` (commander turns it back into `physicalRole`). */
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

function parser(p: CliParam): (v: string) => unknown {
  switch (p.type) {
    case 'integer':
    case 'number':
      return (v) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n) || (p.type === 'integer' && !Number.isInteger(n))) throw new InvalidArgumentError(`"${v}" is not a${p.type === 'integer' ? ' whole' : ''} number`);
        return n;
      };
    case 'boolean':
      return (v) => {
        if (v === 'true') return true;
        if (v === 'false') return false;
        throw new InvalidArgumentError(`"${v}" is not true or false`);
      };
    case 'array':
      return (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
    case 'object':
      return (v) => {
        try { return JSON.parse(v); } catch { throw new InvalidArgumentError(`"${v.slice(0, 40)}" is not JSON`); }
      };
    default:
      return (v) => v;
  }
}

function optionFor(p: CliParam, prefix = ''): Option {
  const flag = `--${prefix}${kebab(p.name)}`;
  const what = p.type === 'array' ? 'comma-separated' : p.type === 'object' ? 'JSON' : p.enum ? p.enum.join(' | ') : p.type;
  // A boolean body field is a flag; `--no-x` sends false.
  const o = p.type === 'boolean' ? new Option(flag, p.description ?? '') : new Option(`${flag} <${p.type === 'object' ? 'json' : 'value'}>`, [p.description, what].filter(Boolean).join('; '));
  if (p.enum) o.choices(p.enum);
  else if (p.type !== 'boolean') o.argParser(parser(p));
  return o;
}

/** Reads a JSON or YAML body file (`-` is stdin). */
export function readBodyFile(file: string): unknown {
  let text: string;
  try { text = readFileSync(file === '-' ? 0 : file, 'utf8'); } catch (e) { throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`); }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('js-yaml') as typeof import('js-yaml')).load(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function requestPath(op: CliOperation, args: string[], query: Record<string, unknown>): string {
  let i = 0;
  const p = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(args[i++]));
  const qs = new URLSearchParams();
  for (const q of op.query) if (query[q.name] !== undefined) qs.set(q.name, String(query[q.name]));
  const s = qs.toString();
  return s ? `${p}?${s}` : p;
}

/** The body from `--file` and the field options (options win over the file). */
export function requestBody(op: CliOperation, o: Record<string, unknown>): unknown {
  if (!op.body) return undefined;
  const base = o.file !== undefined ? readBodyFile(String(o.file)) : {};
  if (base === null || typeof base !== 'object' || Array.isArray(base)) {
    if (Object.keys(o).some((k) => op.body!.fields.some((f) => f.name === k))) throw new Error(`--file ${String(o.file)}: the body must be a record to add options to`);
    return base;
  }
  const body: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const f of op.body.fields) if (!OWN_OPTIONS.has(f.name) && o[f.name] !== undefined) body[f.name] = o[f.name];
  return body;
}

const OWN_OPTIONS = new Set(['file', 'output', 'wait', 'timeout', 'help']);

function register(parent: Command, op: CliOperation, ctx: CliContext): void {
  // The group's list shows the summary; the command's own help adds the route it calls.
  const cmd = parent.command(op.name).summary(op.summary || `${op.method} ${op.path}`)
    .description(`${op.summary || `${op.method} ${op.path}`}\n\nCalls ${op.method} /api/v1${op.path}`);
  if (op.name === 'create') cmd.alias('add');
  for (const a of op.args) cmd.argument(`<${argName(a)}>`);
  for (const q of op.query) cmd.addOption(optionFor(q));
  if (op.body) {
    cmd.option('-f, --file <file>', 'request body as JSON or YAML (- for stdin); the options below override its fields');
    for (const f of op.body.fields) {
      // These options belong to the command; a body field of such a name is set with --file.
      if (OWN_OPTIONS.has(f.name)) continue;
      cmd.addOption(optionFor(f));
    }
  }
  const read = op.method === 'GET';
  withOutput(cmd, read ? 'table' : 'json');
  if (!read) {
    cmd.option('--wait', 'when the reply names a job (jobId): follow it live until it ends; exit non-zero unless it succeeds');
    cmd.option('--timeout <s>', 'with --wait: give up following after this many seconds', '3600');
  }
  cmd.action(async (...all: unknown[]) => {
    const args = all.slice(0, op.args.length) as string[];
    const o = all[op.args.length] as Record<string, unknown> & { output: OutputFormat; wait?: boolean; timeout?: string };
    const api = new ApiClient(clientOptionsFromEnv(ctx.env));
    const body = requestBody(op, o);
    const r = await api.request(op.method, requestPath(op, args, o), body);
    if (r === undefined) ctx.out(`${op.group} ${op.name}: done\n`);
    else ctx.out(formatReply(r, o.output, op.columns));
    const jobId = (r as { jobId?: unknown } | undefined)?.jobId;
    if (o.wait && typeof jobId === 'string') endOf(await follow(api, ctx, jobId, { timeoutS: Number(o.timeout) }));
  });
}

/** Short names people type for a group (the issue's words). */
const GROUP_ALIASES = new Map([['virtual-networks', 'networks'], ['logical-routers', 'lrs'], ['node-profiles', 'profiles']]);

/** Adds every operation of the table that no hand-written command already names. */
export function registerGeneratedCommands(program: Command, ctx: CliContext): void {
  for (const op of OPERATIONS) {
    let group = program.commands.find((c) => c.name() === op.group);
    // A hand-written top-level command of that name (`fabric backup FILE`) is the route's
    // command; subcommands under it would shadow its own argument.
    if (group && group.commands.length === 0) continue;
    if (!group) {
      group = program.command(op.group).description(`${op.group.replace(/-/g, ' ')} (service API)`);
      const alias = GROUP_ALIASES.get(op.group);
      if (alias && !program.commands.some((c) => c.name() === alias || c.aliases().includes(alias))) group.alias(alias);
    }
    if (group.commands.some((c) => c.name() === op.name || c.aliases().includes(op.name))) continue;
    register(group, op, ctx);
  }
}
