// The project's JavaScript as the guest runs it. Loading the TypeScript compiler inside the VM
// takes ~20 s under software emulation, so the host provides plain JS: dist/ when this code
// itself runs from dist/ (the CLI), otherwise (tests run the sources through ts-jest) a
// transpiled copy of src/ written into the VM's share, refreshed by file mtime.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface GuestJs {
  /** Directory that holds `src/lab/netns.js` etc. as the guest sees it. */
  guestRoot: string;
  /** NODE_PATH for the guest (node_modules of the shared repository). */
  nodePath: string;
  /** Files transpiled by this call (0 when everything was fresh or dist/ is used). */
  transpiled: number;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

/**
 * @param repo   repository root (shared read-only at the same path in the guest)
 * @param share  host directory shared into the guest as `guestShare`
 */
export function prepareGuestJs(repo: string, share: string, guestShare: string): GuestJs {
  const nodePath = join(repo, 'node_modules');
  const fromDist = __filename.endsWith('.js') && __filename.startsWith(join(repo, 'dist') + '/');
  if (fromDist) return { guestRoot: join(repo, 'dist'), nodePath, transpiled: 0 };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require('typescript') as typeof import('typescript');
  const outRoot = join(share, 'js');
  const stampFile = join(outRoot, '.stamps.json');
  let stamps: Record<string, string> = {};
  try {
    stamps = JSON.parse(readFileSync(stampFile, 'utf8')) as Record<string, string>;
  } catch {
    /* first run */
  }
  let n = 0;
  for (const file of walk(join(repo, 'src'))) {
    const rel = relative(repo, file);
    const st = statSync(file);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const outFile = join(outRoot, rel.replace(/\.ts$/, '.js'));
    if (stamps[rel] === stamp && existsSync(outFile)) continue;
    mkdirSync(dirname(outFile), { recursive: true });
    const text = readFileSync(file, 'utf8');
    const js = file.endsWith('.json')
      ? text
      : ts.transpileModule(text, {
          fileName: file,
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
            resolveJsonModule: true,
          },
        }).outputText;
    writeFileSync(outFile, js);
    stamps[rel] = stamp;
    n++;
  }
  mkdirSync(outRoot, { recursive: true });
  // Code that finds files next to itself (templates/, node-profiles/, node_modules) sees the
  // repository's: symlinks to its absolute paths, which the guest mounts at the same place.
  for (const e of readdirSync(repo)) {
    if (e === 'src' || e === 'dist' || e.startsWith('.')) continue;
    const link = join(outRoot, e);
    let present = false;
    try {
      lstatSync(link);
      present = true;
    } catch {
      /* absent */
    }
    if (!present) symlinkSync(join(repo, e), link);
  }
  writeFileSync(stampFile, JSON.stringify(stamps));
  return { guestRoot: join(guestShare, 'js'), nodePath, transpiled: n };
}
