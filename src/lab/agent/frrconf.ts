// FRR configuration text as a tree, and the removal script that takes FRR from an old config to
// a new one (pure). Applying a config = (1) the removals computed here, tolerant of errors
// (removing a neighbor also removes its sub-settings), then (2) the whole new config, strict:
// re-entering a line FRR already has is a no-op, so nothing unchanged restarts or flaps.

export interface ConfNode {
  line: string;
  children: ConfNode[];
  /** index of its first and last text line (a context: its header to its closing line) */
  from?: number;
  to?: number;
}

/** Top-level lines that open a context (closed by `exit`, `!` at column 0, or the next opener). */
export const TOP_CONTEXT = /^(interface|router|vrf|route-map|bfd|key chain|line|mpls|segment-routing|nexthop-group|pbr-map|l2vpn|pseudowire|rpki|srv6|affinity-map)\b/;
/** Sub-contexts and their closing keyword. */
export const SUB_CONTEXTS: [RegExp, string][] = [
  [/^address-family\b/, 'exit-address-family'],
  [/^vni\b/, 'exit-vni'],
  [/^peer\b/, 'exit'],
  [/^profile\b/, 'exit'],
  [/^vrf-policy\b/, 'exit-vrf-policy'],
  [/^vnc\b/, 'exit-vnc'],
];
/** Lines that never take part in a diff. */
const IGNORED = /^(frr version|frr defaults|end|service integrated-vtysh-config|!)/;

export function normaliseLine(l: string): string {
  return l.trim().replace(/\s+/g, ' ');
}

export function parseFrrConf(text: string): ConfNode[] {
  const root: ConfNode[] = [];
  let top: ConfNode | undefined;
  let sub: { node: ConfNode; close: string } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const indented = /^\s/.test(raw);
    const line = normaliseLine(raw);
    if (line === '' || IGNORED.test(line)) {
      if (!indented && line === '!') { /* a column-0 '!' separates stanzas; contexts end at 'exit' */ }
      continue;
    }
    if (sub) {
      top!.to = sub.node.to = i;
      if (line === sub.close) { sub = undefined; continue; }
      sub.node.children.push({ line, children: [], from: i, to: i });
      continue;
    }
    if (top) {
      if (line === 'exit' || line === 'quit') { top.to = i; top = undefined; continue; }
      if (!indented && TOP_CONTEXT.test(line)) {
        top = undefined; // a new opener ends the previous context (tolerate missing 'exit')
      } else if (!indented && !TOP_CONTEXT.test(line) && !SUB_CONTEXTS.some(([re]) => re.test(line)) && !looksLikeChild(line)) {
        top = undefined; // a column-0 global line after an unclosed context
      } else {
        const s = SUB_CONTEXTS.find(([re]) => re.test(line));
        const node: ConfNode = { line, children: [], from: i, to: i };
        top.children.push(node);
        top.to = i;
        if (s) sub = { node, close: s[1] };
        continue;
      }
    }
    if (line === 'exit') continue;
    const node: ConfNode = { line, children: [], from: i, to: i };
    root.push(node);
    if (TOP_CONTEXT.test(line)) top = node;
  }
  return root;
}

/** Lines that only make sense inside a context, even when rendered at column 0. */
function looksLikeChild(line: string): boolean {
  return /^(no )?(ip |ipv6 |neighbor |bgp |network |redistribute |description |mtu |shutdown|match |set |on-match|call |advertise|evpn |route-target |rd |maximum-paths |timers |distance |aggregate-address |vrf |vni |link-detect|evpn-|echo-|receive-interval|transmit-interval|detect-multiplier|passive-mode|minimum-ttl|label |bandwidth |multicast|router-id )/.test(line);
}

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
