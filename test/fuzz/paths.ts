// Where the repository is, also when this code runs compiled from dist/ (bench/fuzz-net.ts):
// the fuzzers read the corpus and start child processes from the TypeScript sources.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function repoRoot(from = __dirname): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'src'))) return d;
  throw new Error(`no repository above ${from}`);
}
