#!/usr/bin/env node
// Builds the web UI (ui/src) into dist/webui with esbuild: one JS and one CSS bundle named by
// their content hash, the ELK layout worker (hashed too), the favicon, and index.html, which
// loads them as files (the CSP allows no inline script or style). Runs offline, in about a second.
//   node ui/build.mjs
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/webui');
const tmp = `${out}.tmp-${process.pid}`;
const hash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 10);

rmSync(tmp, { recursive: true, force: true });
mkdirSync(path.join(tmp, 'assets'), { recursive: true });
try {
  const worker = readFileSync(path.join(root, 'node_modules/elkjs/lib/elk-worker.min.js'));
  const workerName = `elk-worker-${hash(worker)}.js`;
  writeFileSync(path.join(tmp, 'assets', workerName), worker);

  const r = await build({
    absWorkingDir: root,
    entryPoints: { app: 'ui/src/main.tsx' },
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    outdir: path.join(tmp, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    tsconfig: 'ui/tsconfig.json',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { __ELK_WORKER__: JSON.stringify(`/ui/assets/${workerName}`) },
    logLevel: 'warning',
  });
  const outputs = Object.entries(r.metafile.outputs);
  const js = outputs.find(([f, o]) => f.endsWith('.js') && o.entryPoint === 'ui/src/main.tsx');
  if (!js) throw new Error('esbuild produced no app bundle');
  const css = js[1].cssBundle;
  const url = (f) => `/ui/assets/${path.basename(f)}`;
  copyFileSync(path.join(root, 'ui/public/favicon.svg'), path.join(tmp, 'favicon.svg'));
  writeFileSync(path.join(tmp, 'index.html'), `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Fabric</title>
<link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
${css ? `<link rel="stylesheet" href="${url(css)}">\n` : ''}<script type="module" src="${url(js[0])}"></script>
</head>
<body>
<div id="app"><noscript>This tool needs JavaScript.</noscript></div>
</body>
</html>
`);
  const kib = (readFileSync(path.join(root, js[0])).length / 1024).toFixed(0);
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  process.stdout.write(`ui: built dist/webui (${path.basename(js[0])} ${kib} KiB${css ? `, ${path.basename(css)}` : ''}, ${workerName})\n`);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`ui build: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(1);
}
