#!/usr/bin/env node
// Regenerates src/cli/command-table.json from the service's OpenAPI document (the CLI's
// generated commands). `npm run cli-table` builds first; run it after changing a route.
// With --check: exit 1 when the checked-in table is stale (nothing written).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const { openApiDocument } = require(join(root, 'dist', 'src', 'api', 'openapi-doc.js'));
const { commandTableText } = require(join(root, 'dist', 'src', 'cli', 'table-build.js'));
const file = join(root, 'src', 'cli', 'command-table.json');

openApiDocument().then((doc) => {
  const text = commandTableText(doc);
  let old = '';
  try { old = readFileSync(file, 'utf8'); } catch { /* first run */ }
  if (process.argv.includes('--check')) {
    if (old !== text) { process.stderr.write(`${file} is stale: run npm run cli-table\n`); process.exit(1); }
    return;
  }
  if (old === text) { process.stdout.write(`${file}: up to date\n`); return; }
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file} (${JSON.parse(text).operations.length} operations)\n`);
}).catch((e) => { process.stderr.write(`cli-table: ${e.stack || e}\n`); process.exit(1); });
