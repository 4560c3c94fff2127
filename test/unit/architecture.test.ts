// The folder rules of docs/architecture.md ("Folders and what each may import"): imports point
// down, and no module reaches itself again through its imports (type-only imports included:
// a type cycle is a design cycle too).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');

/** folder -> the other folders it may import (src/<folder>, `workers`; `config`/`log` are src/config.ts, src/log.ts) */
const ALLOWED: Record<string, string[]> = {
  domain: [],
  intent: ['domain'],
  render: ['domain'],
  netconf: ['domain'],
  platforms: ['domain', 'render', 'netconf'],
  store: ['domain', 'intent'],
  discovery: ['domain', 'intent', 'netconf', 'render', 'platforms', 'store', 'jobs', 'metrics', 'config', 'log', 'log-limit'],
  jobs: ['domain', 'intent', 'render', 'netconf', 'platforms', 'store', 'discovery', 'metrics', 'config', 'log', 'log-limit'],
  api: ['domain', 'intent', 'render', 'platforms', 'store', 'jobs', 'discovery', 'interop', 'metrics', 'config', 'log', 'log-limit'],
  cli: ['domain', 'intent', 'render', 'platforms', 'interop', 'config'],
  interop: ['domain', 'intent', 'render', 'platforms', 'lab'],
  lab: ['domain', 'netconf', 'render', 'platforms', 'config', 'log', 'log-limit'],
  demo: ['lab', 'domain', 'intent', 'render', 'platforms', 'netconf', 'store', 'jobs', 'discovery', 'api', 'config', 'log'],
  workers: ['jobs', 'store', 'discovery', 'config', 'log'],
  metrics: [],
  config: [],
  log: [],
  'log-limit': [],
};

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SPEC = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]|\b(?:require|import)\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function resolveSpec(from: string, spec: string): string | undefined {
  const t = path.resolve(path.dirname(from), spec);
  return [`${t}.ts`, path.join(t, 'index.ts'), t].find((c) => existsSync(c) && statSync(c).isFile());
}

/** src/jobs/push.ts -> jobs; src/config.ts -> config; workers/main.ts -> workers */
function folderOf(file: string): string {
  const rel = path.relative(ROOT, file).split(path.sep);
  if (rel[0] === 'workers') return 'workers';
  return rel[1].replace(/\.ts$/, '');
}

const files = [...tsFiles(path.join(ROOT, 'src')), ...tsFiles(path.join(ROOT, 'workers'))];
const graph = new Map<string, string[]>();
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(SPEC)) {
    const r = resolveSpec(f, m[1] ?? m[2] ?? m[3]);
    if (r) out.push(r);
  }
  graph.set(f, out);
}

/** strongly connected components with more than one module (Tarjan) */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(path.relative(ROOT, w)); } while (w !== v);
      if (c.length > 1) found.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture: folders import only what docs/architecture.md allows', () => {
  it('reads every import form', () => {
    const probe = "import { a } from './a';\nimport type { B } from '../b';\nexport * from './c';\nimport './d';\nconst e = require('./e');\nawait import('./f');";
    expect([...probe.matchAll(SPEC)].map((m) => m[1] ?? m[2] ?? m[3])).toEqual(['./a', '../b', './c', './d', './e', './f']);
  });

  it('knows every folder', () => {
    expect([...new Set(files.map(folderOf))].filter((f) => !Object.hasOwn(ALLOWED, f))).toEqual([]);
  });

  it('every cross-folder import is allowed', () => {
    const bad: string[] = [];
    for (const [f, targets] of graph) {
      const from = folderOf(f);
      for (const t of targets) {
        const to = folderOf(t);
        if (to !== from && !ALLOWED[from].includes(to)) bad.push(`${path.relative(ROOT, f)} -> ${path.relative(ROOT, t)} (${from} may not import ${to})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    expect(cycles(new Map([['/r/a.ts', ['/r/b.ts']], ['/r/b.ts', ['/r/a.ts']], ['/r/c.ts', ['/r/a.ts']]]))).toHaveLength(1);
  });
});
