// An adopted FRR device that keeps its own underlay (brownfield, manageUnderlay false): the
// service owns only the lines it renders (overlay and services, no ip_clos), the device owns
// everything else it runs. FRR takes one whole frr.conf, so a push sends the running text with
// the service's lines woven in: running lines are kept byte for byte (a hand-written neighbour
// description, a route-map, a prefix-list), the rendered lines the device lacks are inserted
// next to their siblings, and lines the service rendered last time but no longer does (a
// network deleted) are taken out. Nothing else changes, so the dry run's diff against running
// is exactly the overlay and service change. Pure.
import { parseFrrConf, SUB_CONTEXTS, type ConfNode } from '../../domain/frr-conf';

interface Edits { drop: Set<number>; insert: Map<number, string[]> }

const isSub = (line: string) => SUB_CONTEXTS.some(([re]) => re.test(line));
const isContext = (n: ConfNode) => n.children.length > 0 || /^(interface|router|vrf|route-map|bfd|key chain|l2vpn)\b/.test(n.line);

function slice(lines: string[], n: ConfNode): string[] {
  return lines.slice(n.from!, n.to! + 1);
}

function dropRange(e: Edits, n: ConfNode, lines: string[]): void {
  for (let i = n.from!; i <= n.to!; i++) e.drop.add(i);
  if (lines[n.to! + 1] === '!') e.drop.add(n.to! + 1); // the stanza's separator goes with it
}

function addAt(e: Edits, at: number, text: string[]): void {
  e.insert.set(at, [...(e.insert.get(at) ?? []), ...text]);
}

/** Lines of `prev` (the service's last render) that `own` (its render now) no longer has, taken out of `run`. */
function dropStale(e: Edits, run: ConfNode[], own: ConfNode[], prev: ConfNode[], lines: string[]): void {
  const ownBy = new Map(own.map((n) => [n.line, n]));
  const prevBy = new Map(prev.map((n) => [n.line, n]));
  for (const r of run) {
    const p = prevBy.get(r.line);
    if (!p) continue; // never the service's: the device's own
    const o = ownBy.get(r.line);
    if (!isContext(r)) { if (!o) dropRange(e, r, lines); continue; }
    dropStale(e, r.children, o?.children ?? [], p.children, lines);
    // a context the service wrote and no longer renders goes once nothing of the device's is left in it
    if (!o && r.children.every((c) => e.drop.has(c.from!))) dropRange(e, r, lines);
  }
}

/**
 * Inserts what `own` has and `run` lacks, each new line after the sibling that precedes it in
 * the render (so order within a context follows the template), else at `fallback(node)`.
 */
function addMissing(e: Edits, run: ConfNode[], own: ConfNode[], ownLines: string[], runLines: string[], fallback: (n: ConfNode) => number): void {
  const runBy = new Map(run.map((n) => [n.line, n]));
  let after: number | undefined; // insert position right after the previous rendered sibling
  for (const o of own) {
    const r = runBy.get(o.line);
    if (r) {
      if (isContext(r) && o.children.length) {
        // new children of a shared context: leaves before its first sub-context, sub-contexts before its close
        const firstSub = r.children.find((c) => isSub(c.line));
        // before the ` !` that introduces the first sub-context, if there is one
        const beforeSub = firstSub && runLines[firstSub.from! - 1]?.trim() === '!' ? firstSub.from! - 1 : firstSub?.from;
        const closed = r.to! > (r.children.at(-1)?.to ?? r.from!);
        const end = closed ? r.to! : r.to! + 1;
        addMissing(e, r.children, o.children, ownLines, runLines, (c) => (!isSub(c.line) && beforeSub !== undefined ? beforeSub : end));
      }
      after = r.to! + 1;
      // a column-0 '!' that ends a stanza stays with it
      if (runLines[after]?.trim() === '!' && !/^\s/.test(runLines[after])) after++;
      continue;
    }
    // a new sub-context (address-family, vni) goes last in its context, after a ` !`
    const sub = isSub(o.line) && /^\s/.test(ownLines[o.from!]);
    const at = sub ? fallback(o) : after ?? fallback(o);
    const text = slice(ownLines, o);
    addAt(e, at, sub ? [' !', ...text] : isContext(o) && !/^\s/.test(ownLines[o.from!]) ? [...text, '!'] : text);
    if (!sub) after = at;
  }
}

function apply(lines: string[], e: Edits): string[] {
  const out: string[] = [];
  for (let i = 0; i <= lines.length; i++) {
    out.push(...(e.insert.get(i) ?? []));
    if (i < lines.length && !e.drop.has(i)) out.push(lines[i]);
  }
  return out;
}

/**
 * The frr.conf to push: `running` with the lines of `owned` (this render of the service's part)
 * it lacks, less those of `ownedBefore` (the service's previous render) that `owned` dropped.
 */
export function mergeFrrConf(running: string, owned: string, ownedBefore = ''): string {
  if (!running.trim()) return owned;
  const runLines = running.split('\n');
  const ownLines = owned.split('\n');
  const run = parseFrrConf(running);
  const own = parseFrrConf(owned);
  const e: Edits = { drop: new Set(), insert: new Map() };
  dropStale(e, run, own, parseFrrConf(ownedBefore), runLines);
  // New top-level stanzas without a rendered predecessor in running: before the first
  // `router` stanza for lines and interfaces (they come first in FRR), else before `end`.
  let end = runLines.findIndex((l) => l.trim() === 'end');
  if (end < 0) end = runLines.length;
  const firstRouter = run.find((n) => n.line.startsWith('router '));
  addMissing(e, run, own, ownLines, runLines, (n) => (firstRouter && !n.line.startsWith('router ') ? firstRouter.from! : end));
  return apply(runLines, e).join('\n');
}

/** ifupdown2 stanzas (`auto X` + `iface X` with their indented lines, blank-line separated), keyed by their first line. */
function stanzas(text: string): { key: string; lines: string[] }[] {
  const out: { key: string; lines: string[] }[] = [];
  let cur: { key: string; lines: string[] } | undefined;
  for (const l of text.split('\n')) {
    if (l.trim() === '') { cur = undefined; continue; }
    if (!cur) { cur = { key: l.trim().replace(/\s+/g, ' '), lines: [] }; out.push(cur); }
    cur.lines.push(l);
  }
  return out;
}

/** The interfaces file to push: the service's stanzas replace their running copies; the device's own stay. */
export function mergeInterfaces(running: string, owned: string, ownedBefore = ''): string {
  if (!running.trim()) return owned;
  const own = stanzas(owned);
  const ownKeys = new Set(own.map((s) => s.key));
  const prevKeys = new Set(stanzas(ownedBefore).map((s) => s.key));
  const kept = stanzas(running).filter((s) => !ownKeys.has(s.key) && !prevKeys.has(s.key));
  const text = [...kept, ...own].map((s) => s.lines.join('\n')).join('\n\n');
  return text ? `${text}\n` : '';
}

/** The files to push to an adopted device that keeps its underlay (see the top of this file). */
export function frrAdoptedFiles(device: string, running: Record<string, string>, owned: Record<string, string>, ownedBefore: Record<string, string> = {}): Record<string, string> {
  const conf = `${device}.frr.conf`;
  const ifs = `${device}.interfaces`;
  const out: Record<string, string> = { [conf]: mergeFrrConf(running[conf] ?? '', owned[conf] ?? '', ownedBefore[conf] ?? '') };
  const i = mergeInterfaces(running[ifs] ?? '', owned[ifs] ?? '', ownedBefore[ifs] ?? '');
  if (i) out[ifs] = i;
  return out;
}
