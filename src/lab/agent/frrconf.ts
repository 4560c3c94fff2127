// FRR configuration text as a tree, and the removal script that takes FRR from an old config to
// a new one (pure). Applying a config = (1) the removals computed here, tolerant of errors
// (removing a neighbor also removes its sub-settings), then (2) the whole new config, strict:
// re-entering a line FRR already has is a no-op, so nothing unchanged restarts or flaps.

import { SUB_CONTEXTS, TOP_CONTEXT, parseFrrConf, type ConfNode } from '../../domain/frr-conf';

export { parseFrrConf, normaliseLine, type ConfNode } from '../../domain/frr-conf';

function negate(line: string): string {
  return line.startsWith('no ') ? line.slice(3) : `no ${line}`;
}

/** Lines that must never be negated by a diff (FRR derives them, or negating them breaks the box). */
const NEVER_NEGATE = /^(hostname |ip forwarding|ipv6 forwarding|no ip forwarding|no ipv6 forwarding|log |line vty)/;

/**
 * The vtysh script removing from FRR what `oldText` had and `newText` has not. Removed top-level
 * contexts are deleted with `no <header>`, except interfaces (they exist in the kernel): their
 * lines are negated one by one. Within a kept context, removed lines are negated deepest and last
 * first, so a dependent setting goes before what it depends on.
 */
export function removalScript(oldText: string, newText: string): string {
  const oldT = parseFrrConf(oldText);
  const newT = parseFrrConf(newText);
  const out: string[] = [];
  const newByLine = new Map(newT.map((n) => [n.line, n]));
  for (const o of [...oldT].reverse()) {
    const n = newByLine.get(o.line);
    if (o.children.length === 0 && !TOP_CONTEXT.test(o.line)) {
      if (!n && !NEVER_NEGATE.test(o.line)) out.push(negate(o.line));
      continue;
    }
    if (!n) {
      if (/^(interface|vrf) /.test(o.line)) {
        const inner = negateChildren(o.children, []);
        if (inner.length) out.push(o.line, ...inner.map((l) => ' ' + l), 'exit');
        if (o.line.startsWith('vrf ')) out.push(`no ${o.line}`);
      } else out.push(negate(o.line));
      continue;
    }
    const inner = diffChildren(o.children, n.children);
    if (inner.length) out.push(o.line, ...inner.map((l) => ' ' + l), 'exit');
  }
  return out.length ? out.join('\n') + '\n' : '';
}

function negateChildren(children: ConfNode[], prefix: string[]): string[] {
  const out: string[] = [];
  for (const c of [...children].reverse()) {
    if (c.children.length) {
      const inner = negateChildren(c.children, []);
      if (inner.length) out.push(c.line, ...inner.map((l) => ' ' + l), closeOf(c.line));
    } else out.push(negate(c.line));
  }
  return prefix.concat(out);
}

function closeOf(line: string): string {
  return SUB_CONTEXTS.find(([re]) => re.test(line))?.[1] ?? 'exit';
}

function diffChildren(oldC: ConfNode[], newC: ConfNode[]): string[] {
  const out: string[] = [];
  const newByLine = new Map(newC.map((n) => [n.line, n]));
  for (const o of [...oldC].reverse()) {
    const n = newByLine.get(o.line);
    const isSub = SUB_CONTEXTS.some(([re]) => re.test(o.line));
    if (!isSub) {
      if (!n) out.push(negate(o.line));
      continue;
    }
    const inner = n ? diffChildren(o.children, n.children) : negateChildren(o.children, []);
    if (inner.length) out.push(o.line, ...inner.map((l) => ' ' + l), closeOf(o.line));
  }
  return out;
}

/** Canonical text of a config (for comparisons: what changed at all). */
export function canonical(text: string): string {
  const walk = (nodes: ConfNode[], depth: number): string[] =>
    nodes.flatMap((n) => [' '.repeat(depth) + n.line, ...walk(n.children, depth + 1)]);
  return walk(parseFrrConf(text), 0).join('\n');
}
