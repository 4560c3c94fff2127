#!/usr/bin/env node
// The `fabric` command runs the compiled CLI in dist/ (built by `npm run build`, by
// scripts/setup.sh, and by `npm ci` through the `prepare` script). A clone that was never
// built gets one line saying how, not a MODULE_NOT_FOUND stack.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  const deps = existsSync(join(root, 'node_modules', 'typescript')) ? '' : 'npm ci && ';
  process.stderr.write(`fabric: not built yet (no ${entry}): run \`cd ${root} && ${deps}npm run build\`\n`);
  process.exit(1);
}
require(entry);
