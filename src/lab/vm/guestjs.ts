// The project's code as the guest runs it. Two costs shape this under software emulation:
// loading TypeScript's compiler takes ~20 s, and every 9p file operation ~40 ms (requiring the
// `yaml` package over 9p took 36 s). So the host prepares plain JavaScript (dist/ when this code
// runs from dist/, else src/ transpiled into a host staging directory), walks the require graph
// from the entry points to the files and npm packages actually used, and streams them as one
// tar into the guest's own disk, where they are kept by content hash (a lab's disk survives
// down/up, so the second up ships nothing).
import { builtinModules } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';

export interface GuestApp {
  /** Directory of the JavaScript tree on the host (holds src/lab/netns.js ...). */
  jsRoot: string;
  /** Files relative to jsRoot and package directories relative to the repository. */
  files: string[];
  packages: string[];
  /** Content key: the guest keeps the tree at /opt/twin/app-<hash>. */
  hash: string;
  transpiled: number;
}

function walkTs(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walkTs(p, out);
    else if ((e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** src/**.ts -> <staging>/src/**.js (refreshed by size and mtime). */
function transpileSources(repo: string, staging: string): number {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require('typescript') as typeof import('typescript');
  const stampFile = join(staging, '.stamps.json');
  let stamps: Record<string, string> = {};
  try {
    stamps = JSON.parse(readFileSync(stampFile, 'utf8')) as Record<string, string>;
  } catch {
    /* first run */
  }
  let n = 0;
  for (const file of walkTs(join(repo, 'src'))) {
    const rel = relative(repo, file);
    const st = statSync(file);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const outFile = join(staging, rel.replace(/\.ts$/, '.js'));
    if (stamps[rel] === stamp && existsSync(outFile)) continue;
    mkdirSync(dirname(outFile), { recursive: true });
    const text = readFileSync(file, 'utf8');
    const js = file.endsWith('.json')
      ? text
      : ts.transpileModule(text, {
          fileName: file,
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
        }).outputText;
    // tmp + rename: labs started at once may share this staging directory
    writeFileSync(`${outFile}.${process.pid}`, js);
    renameSync(`${outFile}.${process.pid}`, outFile);
    stamps[rel] = stamp;
    n++;
  }
  mkdirSync(staging, { recursive: true });
  writeFileSync(`${stampFile}.${process.pid}`, JSON.stringify(stamps));
  renameSync(`${stampFile}.${process.pid}`, stampFile);
  return n;
}

const BUILTIN = new Set(builtinModules);
const REQUIRE_RE = /require\((['"])([^'"]+)\1\)/g;

function resolveFile(p: string): string | undefined {
  for (const c of [p, `${p}.js`, `${p}.json`, join(p, 'index.js')]) {
    try {
      if (statSync(c).isFile()) return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Files reachable from the entry points (relative requires) and the npm packages they need,
 * with the packages' own dependencies (hoisted layout: <repo>/node_modules/<name>).
 */
export function requireClosure(jsRoot: string, entries: string[], repo: string): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const pkgs = new Set<string>();
  const todo = entries.map((e) => resolve(jsRoot, e));
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (!f.endsWith('.js')) continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(REQUIRE_RE)) {
      const spec = m[2];
      if (spec.startsWith('node:') || BUILTIN.has(spec)) continue;
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const r = resolveFile(resolve(dirname(f), spec));
        if (r && r.startsWith(jsRoot + '/')) todo.push(r);
      } else pkgs.add(packageName(spec));
    }
  }
  const closure = new Set<string>();
  const pkgTodo = [...pkgs];
  while (pkgTodo.length) {
    const name = pkgTodo.pop()!;
    if (closure.has(name)) continue;
    const dir = join(repo, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) continue; // an optional dependency not installed
    closure.add(name);
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) {
      if (!existsSync(join(dir, 'node_modules', dep))) pkgTodo.push(dep); // nested copies travel with their parent
    }
  }
  return { files: [...seen].map((f) => relative(jsRoot, f)).sort(), packages: [...closure].sort().map((n) => join('node_modules', n)) };
}

function statKey(paths: string[]): string {
  const h = createHash('sha256');
  const visit = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) visit(join(p, e));
    else h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
  };
  for (const p of paths) visit(p);
  return h.digest('hex').slice(0, 16);
}

/**
 * @param staging host directory for transpiled sources (unused when running from dist/)
 * @param entries entry points relative to the JS root, e.g. src/lab/netns.js
 */
export function prepareGuestApp(repo: string, staging: string, entries: string[]): GuestApp {
  const fromDist = __filename.endsWith('.js') && __filename.startsWith(join(repo, 'dist') + '/');
  let transpiled = 0;
  let jsRoot = join(repo, 'dist');
  if (!fromDist) {
    transpiled = transpileSources(repo, staging);
    jsRoot = staging;
  }
  const { files, packages } = requireClosure(jsRoot, entries, repo);
  const hash = statKey([...files.map((f) => join(jsRoot, f)), ...packages.map((p) => join(repo, p))]);
  return { jsRoot, files, packages, hash, transpiled };
}

/** The app as a gzipped tar (host `tar`): JS files at the top, packages under node_modules/. */
export function packGuestApp(app: GuestApp, repo: string): Promise<Buffer> {
  return new Promise((res, rej) => {
    const child = spawn('tar', ['-czf', '-', '-C', app.jsRoot, ...app.files, '-C', repo, ...app.packages], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(Buffer.concat(out)) : rej(new Error(`vm: packing the guest app failed: ${err.trim()}`))));
  });
}

/** Preload for every node process of the guest app: scales the netns code's waits (TCG is slow). */
export function timeoutScaleScript(appDir: string): string {
  return `'use strict';
const S = Number(process.env.LAB_TIMEOUT_SCALE) || 1;
if (S !== 1) {
  try {
    const sh = require(${JSON.stringify(appDir + '/src/lab/sh.js')});
    const scaled = (o, d) => Object.assign({}, o, { timeoutMs: ((o && o.timeoutMs) || d) * S });
    if (typeof sh.waitFor === 'function') { const w = sh.waitFor; sh.waitFor = (what, fn, t, every) => w(what, fn, t * S, every); }
    if (typeof sh.run === 'function') { const r = sh.run; sh.run = (argv, o) => r(argv, scaled(o, 30000)); }
    if (typeof sh.must === 'function') { const m = sh.must; sh.must = (argv, o) => m(argv, scaled(o, 30000)); }
  } catch (e) { process.stderr.write('twin timeout scale not applied: ' + e.message + '\\n'); }
}
`;
}
