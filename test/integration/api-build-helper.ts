// Builds the tree with tsc when dist/ is older than the sources the service entry points load.
// Type errors elsewhere in the tree do not stop tsc from emitting; missing outputs do fail.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '../..');

function newest(dir: string): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

export function ensureBuilt(outputs: string[] = ['dist/src/api/main.js', 'dist/workers/main.js']): void {
  const src = Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'workers')));
  const stale = outputs.some((o) => !existsSync(path.join(ROOT, o)) || statSync(path.join(ROOT, o)).mtimeMs < src);
  if (stale) {
    try {
      execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore', timeout: 240_000 });
    } catch { /* type errors still emit; checked below */ }
  }
  for (const o of outputs) if (!existsSync(path.join(ROOT, o))) throw new Error(`build did not produce ${o}`);
}
