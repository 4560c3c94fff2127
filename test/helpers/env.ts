// Tests that need root, FRR, Redis or other real peers: under CI (CI=true) a missing
// prerequisite fails the test; on a developer machine it skips with the reason.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function hasCommand(cmd: string): boolean {
  if (cmd.startsWith('/')) return existsSync(cmd);
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns `describe` when every requirement holds, `describe.skip` otherwise
 * (and throws under CI, so a missing peer never passes silently).
 */
export function describeIf(requirements: { root?: boolean; commands?: string[] }): jest.Describe {
  const missing: string[] = [];
  if (requirements.root && !isRoot()) missing.push('root');
  for (const c of requirements.commands ?? []) if (!hasCommand(c)) missing.push(c);
  if (missing.length === 0) return describe;
  if (process.env.CI === 'true') throw new Error(`test prerequisites missing under CI: ${missing.join(', ')}`);
  // eslint-disable-next-line no-console
  console.warn(`skipping: missing ${missing.join(', ')}`);
  return describe.skip;
}
