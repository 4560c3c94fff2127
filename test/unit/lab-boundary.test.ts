// Product code must not depend on the twin: the NETCONF server, the device agent and the
// simulator live in src/lab and only the lab, tests and benchmarks import them (issue 13, item 4).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const LAB = path.join(ROOT, 'src/lab');
const PRODUCT = ['netconf', 'jobs', 'api', 'store', 'discovery', 'intent', 'render', 'domain', 'platforms'];

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** relative module specifiers of static imports, re-exports, dynamic imports and requires */
function specifiers(source: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.[^'"]*)['"]/gm;
  return [...source.matchAll(re)].map((m) => m[1]);
}

describe('product code does not import the twin (src/lab)', () => {
  it('finds the import forms it checks', () => {
    const src = `import { a } from '../lab/x';\nexport * from "./y";\nconst z = require('../../lab/z');\nimport './side';\nawait import('./dyn');`;
    expect(specifiers(src)).toEqual(['../lab/x', './y', '../../lab/z', './side', './dyn']);
  });

  it.each(PRODUCT)('src/%s imports nothing under src/lab', (folder) => {
    const offenders: string[] = [];
    for (const file of tsFiles(path.join(ROOT, 'src', folder))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), spec);
        if (target === LAB || target.startsWith(LAB + path.sep)) offenders.push(`${path.relative(ROOT, file)} -> ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('src/netconf keeps only the product side of NETCONF (the server lives in src/lab/netconf-server)', () => {
    const names = readdirSync(path.join(ROOT, 'src/netconf')).filter((n) => n.endsWith('.ts')).sort();
    expect(names.filter((n) => /server|datastore/.test(n))).toEqual([]);
    expect(existsSync(path.join(LAB, 'netconf-server/index.ts'))).toBe(true);
  });
});
