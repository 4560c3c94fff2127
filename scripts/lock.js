#!/usr/bin/env node
// Keeps package-lock.json complete, so `npm ci` works on every machine (docs/deploy.md, "The
// lock file"). Plain Node, no packages: it runs before `npm ci` in .ci/run.
//
//   node scripts/lock.js check     every dependency and optional dependency a locked package
//                                  names has its own entry (what npm 11's `npm ci` demands)
//   node scripts/lock.js refresh   rewrites the lock from package.json + the current lock with
//                                  `npm install --package-lock-only` (npm >= 11), then checks
//
// Why: npm 10 writes a lock without the other platforms' optional packages (msgpackr-extract's
// darwin/win32/arm builds) when it rebuilds the lock from an installed node_modules (a lock
// deleted or regenerated with node_modules present: npm/cli#4828, #7961), and never adds them
// back; npm 11's `npm ci` then refuses the lock ("Missing: ... from lock file").
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');

/** Problems of a lock file object, one line each (empty: complete). Exported for the tests. */
function lockProblems(lock, pkg) {
  const problems = [];
  const packages = lock.packages ?? {};
  if (lock.lockfileVersion < 2 || !packages['']) return ['lockfileVersion 2 or 3 with a "packages" map expected'];
  // The root entry must name what package.json names (else npm ci says "not in sync").
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const want = pkg[field] ?? {};
    const have = packages[''][field] ?? {};
    for (const [name, range] of Object.entries(want)) {
      if (have[name] !== range) problems.push(`package.json ${field}.${name} ${range}: the lock has ${have[name] ?? 'nothing'}`);
    }
    for (const name of Object.keys(have)) {
      if (!Object.hasOwn(want, name)) problems.push(`the lock's root ${field} has ${name}, package.json does not`);
    }
  }
  // Every name a package depends on resolves, node_modules-style, to an entry: the nearest
  // <path>/node_modules/<name> walking up from the dependent, up to the top level.
  const resolves = (from, name) => {
    let dir = from;
    for (;;) {
      if (Object.hasOwn(packages, `${dir ? `${dir}/` : ''}node_modules/${name}`)) return true;
      if (!dir) return false;
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  };
  for (const [path, entry] of Object.entries(packages)) {
    if (entry.link) continue;
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(path === '' ? entry.devDependencies ?? {} : {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional),
    ];
    for (const name of names) {
      if (!resolves(path, name)) problems.push(`${path || '(root)'} needs ${name}: no entry in the lock`);
    }
  }
  return problems;
}

function check() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const problems = lockProblems(lock, pkg);
  if (problems.length) {
    for (const p of problems.slice(0, 20)) process.stderr.write(`lock: ${p}\n`);
    if (problems.length > 20) process.stderr.write(`lock: ... ${problems.length - 20} more\n`);
    process.stderr.write('lock: package-lock.json is incomplete: run `node scripts/lock.js refresh` (npm >= 11) and commit it\n');
    return 1;
  }
  return 0;
}

function refresh() {
  const v = spawnSync('npm', ['--version'], { encoding: 'utf8' });
  const major = Number(String(v.stdout).split('.')[0]);
  if (!(major >= 11)) {
    process.stderr.write(`lock: npm ${String(v.stdout).trim() || '?'} cannot repair a lock (npm 10 never adds the missing platform packages back): use npm 11, e.g. \`npx -y npm@11 install --package-lock-only --ignore-scripts\`\n`);
    return 1;
  }
  // --package-lock-only: resolves from package.json and the current lock, never from an
  // installed node_modules (which holds only this machine's platform packages).
  const r = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'],
    { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) return r.status ?? 1;
  return check();
}

if (require.main === module) {
  const cmd = process.argv[2];
  if (cmd === 'check') process.exitCode = check();
  else if (cmd === 'refresh') process.exitCode = refresh();
  else { process.stderr.write('usage: node scripts/lock.js check|refresh\n'); process.exitCode = 2; }
}

module.exports = { lockProblems };
