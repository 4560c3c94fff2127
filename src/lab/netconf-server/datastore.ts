/**
 * Schema-less configuration helpers for the NETCONF server core: merge (edit-config and Junos
 * load-configuration), RFC 6241 subtree filtering, pretty printing and diffs.
 *
 * Configuration is an XML fragment (the inner XML of `<config>` / `<data>`), opaque to the
 * server. Without a schema, list entries are matched by their `<name>` child (the key of
 * ietf-interfaces, Junos and most vendor lists); other elements match by name + namespace.
 */
import { createTwoFilesPatch } from 'diff';
import { RpcError } from '../../netconf/errors';
import { XmlElement, XmlNode, elements, escapeAttr, escapeText, parseFragment, textOf } from '../../netconf/xml';

export type EditOperation = 'merge' | 'replace' | 'create' | 'delete' | 'remove' | 'none';

/** operation attribute on an element: nc:operation / xc:operation / operation, or Junos delete="delete" / replace="replace" */
function opOf(el: XmlElement): EditOperation | undefined {
  for (const [k, v] of Object.entries(el.attrs)) {
    const local = k.includes(':') ? k.slice(k.indexOf(':') + 1) : k;
    if (local === 'operation' && !k.startsWith('xmlns')) return v as EditOperation;
    if (local === 'delete' && v === 'delete') return 'delete';
    if (local === 'replace' && v === 'replace') return 'replace';
  }
  return undefined;
}

function isOpAttr(k: string, v: string): boolean {
  const local = k.includes(':') ? k.slice(k.indexOf(':') + 1) : k;
  if (k.startsWith('xmlns')) return false;
  return local === 'operation' || (local === 'delete' && v === 'delete') || (local === 'replace' && v === 'replace');
}

/** a serialisable node: either an untouched parsed element (kept raw) or a rebuilt one */
type OutNode =
  | { kind: 'raw'; el: XmlElement }
  | { kind: 'text'; value: string }
  | { kind: 'built'; like: XmlElement; children: OutNode[] };

/**
 * Leaf-lists the service writes (Junos): each value is its own entry, keyed by its text, so
 * merging `<apply-groups>b</apply-groups>` keeps `a` and deleting one value leaves the others.
 */
const LEAF_LISTS = new Set(['apply-groups', 'apply-groups-except', 'members']);

function keyOf(el: XmlElement): string {
  if (LEAF_LISTS.has(el.name) && !hasElementChildren(el)) return `${el.ns}|${el.name}|=${textOf(el).trim()}`;
  const name = elements(el).find((c) => c.name === 'name');
  return `${el.ns}|${el.name}|${name ? textOf(name).trim() : ''}`;
}

function hasElementChildren(el: XmlElement): boolean {
  return el.children.some((c) => c.type === 'element');
}

function startTag(el: XmlElement, dropOps: boolean): string {
  const attrs = Object.entries(el.attrs)
    .filter(([k, v]) => !(dropOps && isOpAttr(k, v)))
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  return `<${el.qname}${attrs}>`;
}

/** does this subtree carry operation attributes anywhere? */
function hasOps(el: XmlElement): boolean {
  if (Object.entries(el.attrs).some(([k, v]) => isOpAttr(k, v))) return true;
  return elements(el).some(hasOps);
}

function serialize(nodes: OutNode[]): string {
  let s = '';
  for (const n of nodes) {
    if (n.kind === 'text') s += escapeText(n.value);
    else if (n.kind === 'raw') s += hasOps(n.el) ? serialize([{ kind: 'built', like: n.el, children: toOut(n.el.children) }]) : n.el.source.slice(n.el.start, n.el.end);
    else s += `${startTag(n.like, true)}${serialize(n.children)}</${n.like.qname}>`;
  }
  return s;
}

function toOut(nodes: XmlNode[]): OutNode[] {
  return nodes.map((n) => (n.type === 'text' ? { kind: 'text' as const, value: n.value } : { kind: 'raw' as const, el: n }));
}

function mergeChildren(current: OutNode[], incoming: XmlNode[], defaultOp: EditOperation, path: string): OutNode[] {
  const out: (OutNode | undefined)[] = current.filter((n) => n.kind !== 'text' || n.value.trim() !== '');
  const elOf = (n: OutNode): XmlElement | undefined => (n.kind === 'raw' ? n.el : n.kind === 'built' ? n.like : undefined);
  // key -> position of the first element with that key: O(n) merges of big lists
  const index = new Map<string, number>();
  out.forEach((n, i) => {
    const e = elOf(n!);
    if (e) {
      const k = keyOf(e);
      if (!index.has(k)) index.set(k, i);
    }
  });
  const append = (n: OutNode, key: string) => {
    out.push(n);
    if (!index.has(key)) index.set(key, out.length - 1);
  };
  for (const inc of incoming) {
    if (inc.type !== 'element') continue;
    const op = opOf(inc) ?? defaultOp;
    const key = keyOf(inc);
    const idx = index.get(key) ?? -1;
    const here = `${path}/${inc.qname}`;
    switch (op) {
      case 'delete':
      case 'remove':
        if (idx < 0) {
          if (op === 'delete') throw new RpcError('data-missing', `cannot delete ${here}: not present`, { path: here });
          break;
        }
        out[idx] = undefined;
        index.delete(key);
        break;
      case 'create':
        if (idx >= 0) throw new RpcError('data-exists', `cannot create ${here}: already present`, { path: here });
        append({ kind: 'raw', el: inc }, key);
        break;
      case 'replace':
        if (idx >= 0) out[idx] = { kind: 'raw', el: inc };
        else append({ kind: 'raw', el: inc }, key);
        break;
      case 'none':
      case 'merge':
      default: {
        if (idx < 0) {
          // 'none' only descends; it creates nothing unless a descendant says so
          if (op === 'none') {
            if (hasOps(inc)) append({ kind: 'built', like: inc, children: mergeChildren([], inc.children, op, here) }, key);
          } else append({ kind: 'raw', el: inc }, key);
        } else if (hasElementChildren(inc)) {
          const cur = out[idx]!;
          const curEl = elOf(cur)!;
          const curChildren = cur.kind === 'built' ? cur.children : toOut(curEl.children);
          out[idx] = { kind: 'built', like: curEl, children: mergeChildren(curChildren, inc.children, op === 'none' ? 'none' : 'merge', here) };
        } else if (op !== 'none') {
          out[idx] = { kind: 'raw', el: inc };
        }
      }
    }
  }
  return out.filter((n): n is OutNode => n !== undefined);
}

/**
 * Apply an edit to a configuration fragment (RFC 6241 edit-config semantics, schema-less).
 * `replace` as default operation replaces the whole configuration.
 */
export function mergeConfig(current: string, incoming: string, defaultOp: 'merge' | 'replace' | 'none' = 'merge'): string {
  const inc = parseFragment(incoming);
  if (defaultOp === 'replace') return serialize(toOut(inc.filter((n) => n.type === 'element')));
  return serialize(mergeChildren(toOut(parseFragment(current)), inc, defaultOp, ''));
}

function nsMatches(filter: XmlElement, data: XmlElement): boolean {
  return filter.name === data.name && (filter.ns === '' || filter.ns === data.ns);
}

function filterLevel(data: XmlElement[], filters: XmlElement[]): string {
  let out = '';
  for (const d of data) {
    let selected = false;
    let inner = '';
    let whole = false;
    for (const f of filters) {
      if (!nsMatches(f, d)) continue;
      const fk = elements(f);
      if (fk.length === 0) {
        const t = textOf(f).trim();
        if (t === '' || t === textOf(d).trim()) {
          whole = true;
          selected = true;
        }
        continue;
      }
      const contentMatches = fk.filter((c) => !hasElementChildren(c) && textOf(c).trim() !== '');
      const others = fk.filter((c) => !contentMatches.includes(c));
      const ok = contentMatches.every((cm) => elements(d).some((dc) => nsMatches(cm, dc) && textOf(dc).trim() === textOf(cm).trim()));
      if (!ok) continue;
      if (others.length === 0) {
        whole = true;
        selected = true;
        continue;
      }
      const matchedKeys = elements(d).filter((dc) => contentMatches.some((cm) => nsMatches(cm, dc)));
      const sub = filterLevel(elements(d).filter((dc) => !matchedKeys.includes(dc)), others);
      if (sub !== '') {
        selected = true;
        inner += matchedKeys.map((k) => k.source.slice(k.start, k.end)).join('') + sub;
      }
    }
    if (!selected) continue;
    if (whole) out += d.source.slice(d.start, d.end);
    else out += `${startTag(d, false)}${inner}</${d.qname}>`;
  }
  return out;
}

/** RFC 6241 §6 subtree filter over a configuration fragment; an empty filter selects nothing. */
export function subtreeFilter(config: string, filter: string): string {
  const data = parseFragment(config).filter((n): n is XmlElement => n.type === 'element');
  const filters = parseFragment(filter).filter((n): n is XmlElement => n.type === 'element');
  return filterLevel(data, filters);
}

/** Indent an XML fragment one element per line (leaves inline), for stable diffs. Text passes through. */
export function prettyXml(fragment: string): string {
  let nodes: XmlNode[];
  try {
    nodes = parseFragment(fragment);
  } catch {
    return fragment;
  }
  if (!nodes.some((n) => n.type === 'element')) return fragment;
  const lines: string[] = [];
  const walk = (n: XmlNode, depth: number) => {
    const pad = '  '.repeat(depth);
    if (n.type === 'text') {
      const t = n.value.trim();
      if (t) for (const l of t.split('\n')) lines.push(pad + escapeText(l));
      return;
    }
    if (!hasElementChildren(n)) {
      const t = textOf(n);
      lines.push(t.trim() === '' ? `${pad}${startTag(n, false).replace(/>$/, '/>')}` : `${pad}${startTag(n, false)}${escapeText(t)}</${n.qname}>`);
      return;
    }
    lines.push(pad + startTag(n, false));
    for (const c of n.children) walk(c, depth + 1);
    lines.push(`${pad}</${n.qname}>`);
  };
  for (const n of nodes) walk(n, 0);
  return lines.join('\n') + '\n';
}

/** Unified diff between two configurations (XML is pretty-printed first); '' when equal. */
export function diffConfig(before: string, after: string, labels: [string, string] = ['running', 'candidate']): string {
  const a = prettyXml(before);
  const b = prettyXml(after);
  if (a === b) return '';
  const patch = createTwoFilesPatch(labels[0], labels[1], a, b, '', '', { context: 3 });
  // drop the "Index"/"===" preamble lines some versions add; keep ---/+++ and hunks
  return patch
    .split('\n')
    .filter((l) => !l.startsWith('Index:') && !/^=+$/.test(l))
    .join('\n');
}

