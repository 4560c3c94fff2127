#!/usr/bin/env node
// npm's `prepare` hook (runs after `npm ci` / `npm install` in this tree, not with
// --ignore-scripts): builds dist/ and the web UI (dist/webui), which the CLI, the service, the workers and the twin run
// from. Without devDependencies (`npm ci --omit=dev`, as in the Docker runtime stage) there is
// no TypeScript: say so and succeed, the tree is then built elsewhere (the Docker build stage).
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

let tsc;
try { tsc = require.resolve('typescript/bin/tsc'); } catch {
  process.stderr.write('prepare: no TypeScript (devDependencies omitted): dist/ not built here\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(__dirname, '..', 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// The web UI bundle (dist/webui), which the service serves at /ui/.
const ui = spawnSync(process.execPath, [join(__dirname, '..', 'ui', 'build.mjs')], { stdio: 'inherit' });
process.exit(ui.status ?? 1);
