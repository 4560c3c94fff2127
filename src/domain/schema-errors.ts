// The schema's structural errors as the service words them: one line, starting with where it
// is in the file (`devices[3].roles[0]: ...`), saying what was expected and what was found.
// TypeBox finds the error; this module only phrases it.
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { CONTROL_CHARS, HOST_PATTERN, LinkEndText, NAME_PATTERN, PORT_PATTERN, CIDR_PATTERN, IPV4_PATTERN, MAC_PATTERN } from './schema';

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
  [NAME_PATTERN, 'a name (letters, digits, "_", ".", "-"; up to 63)'], [PORT_PATTERN, 'an interface name'],
  [HOST_PATTERN, 'an IPv4 address or a host name'], [CIDR_PATTERN, 'an IPv4 prefix a.b.c.d/n'], [IPV4_PATTERN, 'an IPv4 address'],
  [MAC_PATTERN, 'a MAC address aa:bb:cc:dd:ee:ff'], [String(LinkEndText.pattern), '"device:port"'],
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

/** One error, phrased: the message without its path (the caller prefixes it). */
function phrase(e: ValueError, refs: Map<string, TSchema>): { path: string; what: string } {
  const s = e.schema as unknown as Json;
  const v = e.value;
  const at = (what: string) => ({ path: dottedPath(e.path), what });
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      // The path names the unknown key; the schema is its object's.
      const allowed = Object.keys((s.properties as Json | undefined) ?? {});
      return at(`unknown field (allowed: ${allowed.join(', ')})`);
    }
    case ValueErrorType.ObjectRequiredProperty:
      return at(`expected ${expected(s)}, got nothing`);
    case ValueErrorType.Union: {
      const variants = (s.anyOf as Json[]).map((x) => (typeof x.$ref === 'string' ? (refs.get(x.$ref) as unknown as Json) : x));
      // Several variants of the value's kind (mappings): the one whose required keys it has.
      let pick = variants.map((x, i) => ({ x, i })).filter(({ x }) => fits(x, v));
      if (pick.length > 1 && v && typeof v === 'object') {
        const keyed = pick.filter(({ x }) => ((x.required as string[] | undefined) ?? []).every((k) => Object.hasOwn(v as object, k)));
        pick = keyed.length ? keyed.slice(0, 1) : [];
      }
      if (pick.length === 1 && e.errors[pick[0].i]) {
        const inner = e.errors[pick[0].i].First();
        if (inner) return phrase(inner, refs);
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
    case ValueErrorType.StringPattern:
      // Strings reach device templates: a newline there would inject configuration.
      if (typeof v === 'string' && CONTROL_CHARS.test(v)) return at('contains a control character (newline, tab, ...): not allowed');
      return at(`${JSON.stringify(v)} is not ${PATTERN_WHAT.get(String(s.pattern)) ?? `of the form ${String(s.pattern)}`}`);
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
      return at(`expected an integer, got ${describe(v)}`);
    case ValueErrorType.IntegerMinimum: case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum: case ValueErrorType.NumberMaximum:
      return at(`${String(v)} is outside ${String(s.minimum)}..${String(s.maximum)}`);
    case ValueErrorType.Boolean:
      return at(`expected true or false, got ${describe(v)}`);
    case ValueErrorType.Literal:
      return at(`expected ${JSON.stringify(s.const)}, got ${describe(v)}`);
    case ValueErrorType.Array: case ValueErrorType.Object: case ValueErrorType.Null:
      return at(`expected ${expected(s)}, got ${describe(v)}`);
    case ValueErrorType.ArrayMinItems: case ValueErrorType.ArrayMaxItems: {
      const n = Array.isArray(v) ? v.length : 0;
      if (s.minItems === s.maxItems) return at(`expected ${String(s.minItems)} entries${s.description ? ` ${String(s.description)}` : ''}, got ${n}`);
      return at(e.type === ValueErrorType.ArrayMaxItems ? `more than ${String(s.maxItems)} entries (${n})` : `fewer than ${String(s.minItems)} entries (${n})`);
    }
    default:
      return at(e.message.charAt(0).toLowerCase() + e.message.slice(1));
  }
}

/** `path: what` of the first error, or undefined. */
export function explainSchemaError(e: ValueError, refs: readonly TSchema[]): { path: string; message: string } {
  const byId = new Map<string, TSchema>(refs.map((r) => [String(r.$id), r]));
  const { path, what } = phrase(e, byId);
  return { path, message: `${path || '(fabric file)'}: ${what}` };
}
