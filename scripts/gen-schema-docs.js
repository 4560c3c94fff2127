#!/usr/bin/env node
// Writes what the fabric file's one schema (src/domain/schema.ts) generates: the JSON Schema
// editors read (schemas/fabric.schema.json) and the reference page (docs/fabric-file.md).
// Runs from the built tree (dist/): `npm run schema:gen` builds first. `--check` writes nothing
// and exits 1 when a file is stale (the unit test test/unit/schema-docs.test.ts does the same).
'use strict';
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { join, dirname } = require('node:path');

const root = join(__dirname, '..');
let gen;
try { gen = require(join(root, 'dist', 'src', 'cli', 'schema-files.js')); } catch {
  process.stderr.write('gen-schema-docs: dist/ is not built: run `npm run schema:gen` (it builds first)\n');
  process.exit(1);
}
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of gen.schemaFiles(root)) {
  const file = join(root, rel);
  let old = '';
  try { old = readFileSync(file, 'utf8'); } catch { /* new file */ }
  if (old === text) continue;
  if (check) { process.stderr.write(`gen-schema-docs: ${rel} is stale: run \`npm run schema:gen\`\n`); stale++; continue; }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`wrote ${rel}\n`);
}
process.exitCode = stale ? 1 : 0;
