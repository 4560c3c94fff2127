/**
 * A small, strict XML reader for NETCONF messages.
 *
 * Why not a general library: NETCONF needs the *raw* inner XML of some elements (the
 * `<config>` of edit-config, the `<data>` of a reply, Junos `<configuration>`) passed through
 * unchanged, plus namespace resolution and attribute access. This parser records source
 * offsets for every element so callers can slice raw XML, and it refuses DOCTYPE (no entity
 * expansion, no external entities).
 */

export interface XmlElement {
  type: 'element';
  /** local name, without prefix */
  name: string;
  /** name as written (prefix:local) */
  qname: string;
  prefix: string;
  /** resolved namespace URI ('' when none) */
  ns: string;
  /** attributes by name as written, values unescaped */
  attrs: Record<string, string>;
  children: XmlNode[];
  /** source offsets: the whole element, and its content */
  start: number;
  end: number;
  innerStart: number;
  innerEnd: number;
  /** the parsed source (shared string, no copy) */
  source: string;
}

export interface XmlText {
  type: 'text';
  value: string;
}

export type XmlNode = XmlElement | XmlText;

export class XmlParseError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlParseError';
    this.offset = offset;
  }
}

// char-code tests: much cheaper than a regex per character on big replies
function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c >= 0xc0;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

export function decodeEntities(s: string, offset = 0): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);?/g, (m, ent: string, i: number) => {
    if (!m.endsWith(';')) throw new XmlParseError(`unterminated entity '${m}'`, offset + i);
    switch (ent) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
        if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
        throw new XmlParseError(`unknown entity '&${ent};'`, offset + i);
    }
  });
}

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;');
}

/** Parse one XML document (or fragment with a single root element). */
export function parseXml(src: string): XmlElement {
  const roots = parseFragment(src);
  const elems = roots.filter((n): n is XmlElement => n.type === 'element');
  if (elems.length !== 1) throw new XmlParseError(`expected one root element, found ${elems.length}`, 0);
  for (const n of roots) {
    if (n.type === 'text' && n.value.trim() !== '') throw new XmlParseError('text outside the root element', 0);
  }
  return elems[0];
}

/**
 * Parse a fragment: any number of top-level elements and text (e.g. the inner XML of
 * `<config>`). `inheritedNs` gives namespace bindings in scope ('' key = default namespace).
 */
export function parseFragment(src: string, inheritedNs: Record<string, string> = {}): XmlNode[] {
  const top: XmlNode[] = [];
  const stack: { el: XmlElement; ns: Record<string, string> }[] = [];
  let i = 0;
  const n = src.length;
  let textStart = 0;

  const flushText = (endAt: number) => {
    if (endAt > textStart) {
      const raw = src.slice(textStart, endAt);
      const value = decodeEntities(raw, textStart);
      const target = stack.length ? stack[stack.length - 1].el.children : top;
      const last = target[target.length - 1];
      if (last && last.type === 'text') last.value += value;
      else target.push({ type: 'text', value });
    }
  };
  const pushText = (value: string) => {
    const target = stack.length ? stack[stack.length - 1].el.children : top;
    const last = target[target.length - 1];
    if (last && last.type === 'text') last.value += value;
    else target.push({ type: 'text', value });
  };

  while (i < n) {
    const lt = src.indexOf('<', i);
    if (lt < 0) {
      i = n;
      break;
    }
    i = lt;
    flushText(lt);
    if (src.startsWith('<!--', i)) {
      const e = src.indexOf('-->', i + 4);
      if (e < 0) throw new XmlParseError('unterminated comment', i);
      i = e + 3;
    } else if (src.startsWith('<![CDATA[', i)) {
      const e = src.indexOf(']]>', i + 9);
      if (e < 0) throw new XmlParseError('unterminated CDATA', i);
      if (!stack.length) throw new XmlParseError('CDATA outside an element', i);
      pushText(src.slice(i + 9, e));
      i = e + 3;
    } else if (src.startsWith('<?', i)) {
      const e = src.indexOf('?>', i + 2);
      if (e < 0) throw new XmlParseError('unterminated processing instruction', i);
      i = e + 2;
    } else if (src.startsWith('<!', i)) {
      throw new XmlParseError('DOCTYPE and declarations are not allowed', i);
    } else if (src[i + 1] === '/') {
      // end tag
      const gt = src.indexOf('>', i);
      if (gt < 0) throw new XmlParseError('unterminated end tag', i);
      const qname = src.slice(i + 2, gt).trim();
      const open = stack.pop();
      if (!open) throw new XmlParseError(`unexpected end tag </${qname}>`, i);
      if (open.el.qname !== qname) throw new XmlParseError(`end tag </${qname}> does not match <${open.el.qname}>`, i);
      open.el.innerEnd = i;
      open.el.end = gt + 1;
      i = gt + 1;
    } else {
      // start tag
      const tagStart = i;
      i++;
      if (!isNameStart(src.charCodeAt(i))) throw new XmlParseError(`bad element name start '${src[i] ?? 'EOF'}'`, i);
      const ns0 = i;
      while (i < n && isNameChar(src.charCodeAt(i))) i++;
      const qname = src.slice(ns0, i);
      const attrs: Record<string, string> = {};
      let selfClose = false;
      for (;;) {
        while (i < n && isSpace(src.charCodeAt(i))) i++;
        if (i >= n) throw new XmlParseError(`unterminated start tag <${qname}>`, tagStart);
        if (src[i] === '>') {
          i++;
          break;
        }
        if (src[i] === '/' && src[i + 1] === '>') {
          selfClose = true;
          i += 2;
          break;
        }
        const an0 = i;
        while (i < n && isNameChar(src.charCodeAt(i))) i++;
        if (i === an0) throw new XmlParseError(`bad character '${src[i]}' in tag <${qname}>`, i);
        const aname = src.slice(an0, i);
        while (i < n && isSpace(src.charCodeAt(i))) i++;
        if (src[i] !== '=') throw new XmlParseError(`attribute ${aname} without value in <${qname}>`, i);
        i++;
        while (i < n && isSpace(src.charCodeAt(i))) i++;
        const q = src[i];
        if (q !== '"' && q !== "'") throw new XmlParseError(`attribute ${aname} value not quoted in <${qname}>`, i);
        const ve = src.indexOf(q, i + 1);
        if (ve < 0) throw new XmlParseError(`unterminated attribute ${aname}`, i);
        if (aname in attrs) throw new XmlParseError(`duplicate attribute ${aname} in <${qname}>`, an0);
        attrs[aname] = decodeEntities(src.slice(i + 1, ve), i + 1);
        i = ve + 1;
      }
      // namespaces in scope
      const parentNs = stack.length ? stack[stack.length - 1].ns : inheritedNs;
      let scope = parentNs;
      for (const a of Object.keys(attrs)) {
        if (a === 'xmlns' || a.startsWith('xmlns:')) {
          if (scope === parentNs) scope = { ...parentNs };
          scope[a === 'xmlns' ? '' : a.slice(6)] = attrs[a];
        }
      }
      const colon = qname.indexOf(':');
      const prefix = colon >= 0 ? qname.slice(0, colon) : '';
      const el: XmlElement = {
        type: 'element',
        name: colon >= 0 ? qname.slice(colon + 1) : qname,
        qname,
        prefix,
        ns: scope[prefix] ?? '',
        attrs,
        children: [],
        start: tagStart,
        end: i,
        innerStart: i,
        innerEnd: i,
        source: src,
      };
      (stack.length ? stack[stack.length - 1].el.children : top).push(el);
      if (!selfClose) stack.push({ el, ns: scope });
    }
    textStart = i;
  }
  flushText(n);
  if (stack.length) throw new XmlParseError(`unclosed element <${stack[stack.length - 1].el.qname}>`, stack[stack.length - 1].el.start);
  return top;
}

/** Every element named `name` below `nodes`, depth first, not descending into matches. */
export function findAll(nodes: XmlNode[], name: string, out: XmlElement[] = []): XmlElement[] {
  for (const n of nodes) {
    if (n.type !== 'element') continue;
    if (n.name === name) out.push(n);
    else findAll(n.children, name, out);
  }
  return out;
}

export function elements(el: XmlElement | undefined): XmlElement[] {
  if (!el) return [];
  return el.children.filter((c): c is XmlElement => c.type === 'element');
}

/** first child element with this local name */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.type === 'element' && c.name === name) return c;
  return undefined;
}

export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return elements(el).filter((c) => c.name === name);
}

/** concatenated text of the element and its descendants */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return '';
  let s = '';
  for (const c of el.children) s += c.type === 'text' ? c.value : textOf(c);
  return s;
}

/** trimmed text of a named child, or undefined */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c ? textOf(c).trim() : undefined;
}

export function innerXml(el: XmlElement): string {
  return el.source.slice(el.innerStart, el.innerEnd);
}

export function outerXml(el: XmlElement): string {
  return el.source.slice(el.start, el.end);
}

/** a first-level element path, for error messages (e.g. /rpc/edit-config/target) */
export function pathOf(names: string[]): string {
  return '/' + names.join('/');
}

/** The first element named `name` under `el`, breadth first per level, at most `depth` levels down. */
export function findDeep(el: XmlElement | undefined, name: string, depth = 5): XmlElement | undefined {
  if (!el || depth < 0) return undefined;
  for (const c of elements(el)) if (c.name === name) return c;
  for (const c of elements(el)) {
    const f = findDeep(c, name, depth - 1);
    if (f) return f;
  }
  return undefined;
}
