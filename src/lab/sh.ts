// Small process helpers for the twin: run a command (argv, never a shell string), optionally in
// a network namespace, with a bounded time.
import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface RunResult { code: number; stdout: string; stderr: string }

export class CommandError extends Error {
  constructor(public argv: string[], public result: RunResult) {
    super(`${argv.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

/** Runs argv; resolves with code and output (never rejects on a non-zero exit). */
export function run(argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(argv[0], argv.slice(1), {
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 64 * 1024 * 1024,
      env: opts.env ?? process.env,
      encoding: 'utf8',
    }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code !== 0 && !stderr ? err.message : '') });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs argv and rejects with a CommandError on a non-zero exit. */
export async function must(argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r.stdout;
}

/** argv prefixed to run inside a namespace (no prefix when ns is undefined: we are already inside). */
export function inNs(ns: string | undefined, argv: string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
}

/**
 * Starts a long-running process detached from us (its own process group), stdout+stderr
 * appended to logFile; returns its pid. `ip netns exec` execs the command, so the pid is the
 * daemon's own.
 */
export function spawnDaemon(argv: string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, 'a');
  try {
    const opts: SpawnOptions = { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env };
    const child = spawn(argv[0], argv.slice(1), opts);
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}
