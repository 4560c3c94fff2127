// The schema's errors as the service words them: one line each, starting with where it is in
// the file (`devices[3] (leaf2).roles[0]: ...`), saying what was expected and what was found.
// TypeBox finds every error; this module phrases them, one per spot, in file order.
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { FabricError } from './errors';
import { ROUTING_ROLES } from './types';
import { NAMED_SCHEMAS, CONTROL_CHARS, LR_NAME_PATTERN, ROLE_PATTERN, HOST_PATTERN, LinkEndText, NAME_PATTERN, PORT_PATTERN, CIDR_PATTERN, IPV4_PATTERN, MAC_PATTERN } from './schema';

type Json = Record<string, unknown>;

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** JSON pointer -> `a.b[3].c`; a link given as a pair names its ends a and b, as parsed. */
export function dottedPath(pointer: string): string {
  let out = '';
  for (const seg of pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out.replace(/^links\[(\d+)\]\[([01])\]/, (_m, i: string, end: string) => `links[${i}].${end === '0' ? 'a' : 'b'}`);
}

const PATTERN_WHAT = new Map<string, string>([
  [NAME_PATTERN, 'a valid name (letters, digits, ".", "_", "-"; up to 63)'], [PORT_PATTERN, 'an interface name'],
  [LR_NAME_PATTERN, 'a valid logical router name (a letter, then letters, digits, "_", "-"; up to 15: it names the VRF)'],
  [HOST_PATTERN, 'an IPv4 address or a host name'], [CIDR_PATTERN, 'an IPv4 prefix a.b.c.d/n'], [IPV4_PATTERN, 'an IPv4 address'],
  [MAC_PATTERN, 'a MAC address (xx:xx:xx:xx:xx:xx)'], [String(LinkEndText.pattern), '"device:port"'],
]);

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** What a schema wants, in words: "a non-empty string", "an integer", "a list", ... */
function expected(s: Json): string {
  if (Array.isArray(s.anyOf)) return typeof s.description === 'string' ? s.description : (s.anyOf as Json[]).map(expected).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  switch (s.type) {
    case 'string': return (s.minLength as number) > 0 || s.pattern ? 'a non-empty string' : 'a string';
    case 'integer': return 'an integer';
    case 'number': return 'a number';
    case 'boolean': return 'true or false';
    case 'array': return 'a list';
    case 'object': return 'a mapping';
    case 'null': return 'null';
    default: return 'a value';
  }
}

const fits = (s: Json, v: unknown): boolean => {
  const k = kind(v);
  if (s.const !== undefined) return typeof s.const === typeof v;
  return s.type === k || (s.type === 'number' && k === 'integer');
};

/** One phrased error: `path` in the file, `what` without the path, `rank` which wins a spot. */
interface Phrased { path: string; what: string; rank: number; type: ValueErrorType }

/** Which error speaks for a spot that several report: a pattern says more than a length. */
const RANK = new Map<ValueErrorType, number>([
  [ValueErrorType.StringPattern, 2], [ValueErrorType.StringMaxLength, 1], [ValueErrorType.StringMinLength, 1],
]);

/** Each error phrased (a union answers with the errors of the variant the value meant). */
function phrase(e: ValueError, refs: Map<string, TSchema>, out: Phrased[], base: string): void {
  const s = e.schema as unknown as Json;
  const v = e.value;
  const at = (what: string) => { out.push({ path: dottedPath(e.path), what, rank: RANK.get(e.type) ?? 0, type: e.type }); };
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      // The path names the unknown key; the schema is its object's.
      const allowed = Object.keys((s.properties as Json | undefined) ?? {});
      // A map keyed by names (patternProperties, e.g. osVersions by node profile): the key's form.
      if (allowed.length === 0 && s.patternProperties) return at('is not a node profile name (letters, digits, "_", ".", "-"; up to 63, starting with a letter or digit)');
      return at(`unknown field (allowed: ${allowed.join(', ')})`);
    }
    case ValueErrorType.ObjectRequiredProperty:
      return at(`expected ${expected(s)}, got nothing`);
    case ValueErrorType.Union: {
      const variants = (s.anyOf as Json[]).map((x) => (typeof x.$ref === 'string' ? (refs.get(x.$ref) as unknown as Json) : x));
      // Several variants of the value's kind (mappings): the one whose required keys it has.
      let pick = variants.map((x, i) => ({ x, i })).filter(({ x }) => fits(x, v));
      if (pick.length > 1 && v && typeof v === 'object' && !Array.isArray(v)) {
        const keyed = pick.filter(({ x }) => ((x.required as string[] | undefined) ?? []).every((k) => Object.hasOwn(v as object, k)));
        if (keyed.length > 1) {
          // It has the keys of two variants: name the keys that tell them apart.
          const own = keyed.map(({ x }) => ((x.required as string[]) ?? []).filter((k) => !keyed.every(({ x: y }) => ((y.required as string[]) ?? []).includes(k))));
          const word = (x: Json, k: string) => { const c = ((x.properties as Json)[k] as Json).const; return c === undefined ? k : `${k}: ${JSON.stringify(c)}`; };
          return at(`give either ${keyed.map(({ x }, j) => own[j].map((k) => word(x, k)).join(', ')).join(' or ')}, not both`);
        }
        if (keyed.length === 0 && typeof s.description === 'string') return at(`needs ${s.description}`);
        pick = keyed;
      }
      if (pick.length === 1 && e.errors[pick[0].i]) {
        const before = out.length;
        for (const inner of e.errors[pick[0].i]) phrase({ ...inner, path: base + inner.path }, refs, out, base);
        if (out.length > before) return;
      }
      if (variants.every((x) => x.const !== undefined) && (typeof v === 'string' || typeof v === 'number')) {
        const what = typeof s.title === 'string' ? `${s.title} ` : 'value ';
        return at(`unknown ${what}${JSON.stringify(v)} (known: ${variants.map((x) => String(x.const)).join(', ')})`);
      }
      return at(`expected ${expected(s)}, got ${describe(v)}`);
    }
    case ValueErrorType.String:
    case ValueErrorType.StringMinLength:
      return at(`expected a non-empty string, got ${describe(v)}`);
    case ValueErrorType.StringMaxLength:
      return at(`longer than ${String(s.maxLength)} characters`);
    case ValueErrorType.StringPattern: {
      // Strings reach device templates: a newline there would inject configuration.
      if (typeof v === 'string' && CONTROL_CHARS.test(v)) return at('contains a control character (newline, tab, ...): not allowed');
      // A role the pattern refuses is no known role: worded as validation words unknown roles.
      if (s.pattern === ROLE_PATTERN) return at(`unknown role ${JSON.stringify(v)} (known: null, ${ROUTING_ROLES.join(', ')})`);
      const path = dottedPath(e.path);
      const what = s.pattern === NAME_PATTERN && /^devices\[\d+\]\.name$/.test(path)
        ? 'a valid device name (letters, digits, ".", "_", "-"; up to 63)'
        : PATTERN_WHAT.get(String(s.pattern)) ?? `of the form ${String(s.pattern)}`;
      return at(`${JSON.stringify(v)} is not ${what}`);
    }
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
      return at(`expected an integer, got ${describe(v)}`);
    case ValueErrorType.IntegerMinimum: case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum: case ValueErrorType.NumberMaximum:
      return at(`${typeof s.title === 'string' ? `${s.title} ` : ''}${String(v)} is outside ${String(s.minimum)}..${String(s.maximum)}`);
    case ValueErrorType.Boolean:
      return at(`expected true or false, got ${describe(v)}`);
    case ValueErrorType.Literal:
      return at(`expected ${typeof s.description === 'string' ? s.description : JSON.stringify(s.const)}, got ${describe(v)}`);
    case ValueErrorType.Array: case ValueErrorType.Object: case ValueErrorType.Null:
      return at(`expected ${expected(s)}, got ${describe(v)}`);
    case ValueErrorType.ArrayMinItems: case ValueErrorType.ArrayMaxItems: {
      const n = Array.isArray(v) ? v.length : 0;
      if (s.minItems === s.maxItems) return at(`expected ${typeof s.description === 'string' ? s.description : `${String(s.minItems)} entries`}, got ${n}`);
      return at(e.type === ValueErrorType.ArrayMaxItems ? `more than ${String(s.maxItems)} entries (${n})` : `fewer than ${String(s.minItems)} entries (${n})`);
    }
    default:
      return at(e.message.charAt(0).toLowerCase() + e.message.slice(1));
  }
}

/** Lists whose items have a `name`: the label `devices[3] (leaf2)` says which one is meant. */
const NAMED_LISTS = /^(devices|virtualNetworks|logicalRouters|servers|vpgs|externalNetworks)\[(\d+)\]/;
/** Checks of a value's content (ranges, forms) carry the label, as the cross-object rules do;
 *  a device's own bad name is not repeated as its label. */
const LABELLED = new Set<ValueErrorType>([
  ValueErrorType.StringPattern, ValueErrorType.StringMaxLength,
  ValueErrorType.IntegerMinimum, ValueErrorType.IntegerMaximum, ValueErrorType.NumberMinimum, ValueErrorType.NumberMaximum,
]);

function where(doc: unknown, p: Phrased): string {
  const m = NAMED_LISTS.exec(p.path);
  if (!m || !LABELLED.has(p.type) || (m[1] === 'devices' && p.path === `${m[0]}.name`)) return p.path || '(fabric file)';
  const item = (doc as Json)[m[1]] as unknown[];
  const name = (item?.[Number(m[2])] as Json | undefined)?.name;
  return typeof name === 'string' && name ? `${m[0]} (${name})${p.path.slice(m[0].length)}` : p.path;
}

/** Where a dotted path sits in the document: key positions as they are in the file. */
function fileOrder(doc: unknown, path: string): number[] {
  const out: number[] = [];
  let cur: unknown = doc;
  for (const [, key, idx] of path.matchAll(/\.?([^.[\]]+)|\[(\d+)\]/g)) {
    if (idx !== undefined) { out.push(Number(idx)); cur = Array.isArray(cur) ? cur[Number(idx)] : undefined; continue; }
    const keys = cur && typeof cur === 'object' && !Array.isArray(cur) ? Object.keys(cur) : [];
    // A link end `a`/`b` of a pair is its index; a missing key sorts after the present ones.
    const k = Array.isArray(cur) && (key === 'a' || key === 'b') ? (key === 'a' ? 0 : 1) : keys.indexOf(key);
    out.push(k < 0 ? keys.length : k);
    cur = Array.isArray(cur) ? cur[k] : (cur as Json | undefined)?.[key];
  }
  return out;
}

function before(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Every schema error of `doc` as FabricErrors: one per spot (the most telling one when a union
 * or a string's several rules report the same spot), in file order. `base` prefixes the pointer
 * when `doc` is a part of the file (e.g. `/fabric/settings`); `root` is the whole file (labels).
 */
export function explainSchemaErrors(errors: Iterable<ValueError>, refs: readonly TSchema[], base = '', root?: unknown): FabricError[] {
  const byId = new Map<string, TSchema>(refs.map((r) => [String(r.$id), r]));
  const all: Phrased[] = [];
  for (const e of errors) phrase({ ...e, path: base + e.path }, byId, all, base);
  // A list of the wrong length (a link's two ends) is the one problem there: not its items too.
  const sized = all.filter((p) => p.type === ValueErrorType.ArrayMinItems || p.type === ValueErrorType.ArrayMaxItems).map((p) => p.path);
  const best = new Map<string, Phrased>();
  for (const p of all) {
    if (sized.some((s) => p.path !== s && (p.path.startsWith(`${s}.`) || p.path.startsWith(`${s}[`)))) continue;
    const had = best.get(p.path);
    if (!had || p.rank > had.rank) best.set(p.path, p);
  }
  const doc = root ?? {};
  const keyed = [...best.values()].map((p, i) => ({ p, i, k: fileOrder(doc, p.path) }));
  keyed.sort((x, y) => before(x.k, y.k) || x.i - y.i);
  return keyed.map(({ p }) => {
    const w = where(doc, p);
    return new FabricError(p.path, `${w}: ${p.what}`);
  });
}

/**
 * Throws every schema error of `v` (at pointer `base` of the document `root`) as one
 * FabricError: the first in file order, carrying all of them in `errors` as validation does.
 */
export function checkSchema(c: { Check(v: unknown): boolean; Errors(v: unknown): Iterable<ValueError> }, v: unknown, base = '', root: unknown = v): void {
  // Check first: the error walk is slower, and a valid file (the common case) needs none.
  if (c.Check(v)) return;
  const errs = explainSchemaErrors(c.Errors(v), NAMED_SCHEMAS, base, root);
  if (errs.length === 0) return;
  errs[0].errors = errs;
  throw errs[0];
}
