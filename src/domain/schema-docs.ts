// What the one schema (schema.ts) generates besides validation: the JSON Schema file editors use
// (schemas/fabric.schema.json, served at /api/v1/schemas/fabric.json) and the reference page
// docs/fabric-file.md. Pure functions; scripts/gen-schema-docs.js writes the files and a unit
// test fails when they are stale.
import type { TSchema } from '@sinclair/typebox';
import { FabricFile, LinkEndText, NAMED_SCHEMAS, NAME_PATTERN, PORT_PATTERN, HOST_PATTERN, CIDR_PATTERN, IPV4_PATTERN, MAC_PATTERN, SAFE_TEXT } from './schema';

type Json = Record<string, unknown>;
const NAMED = new Map<string, TSchema>(NAMED_SCHEMAS.map((s) => [String(s.$id), s]));
const refName = (ref: string) => ref.replace(/#$/, '');

/** Plain JSON (TypeBox's symbol keys dropped), $ids removed, `X#` refs pointing into definitions. */
function plain(s: unknown, refs: Set<string>): Json {
  return JSON.parse(JSON.stringify(s, (k, v) => {
    if (k === '$id') return undefined;
    if (k === '$ref' && typeof v === 'string') { refs.add(refName(v)); return `#/definitions/${refName(v)}`; }
    return v;
  })) as Json;
}

/** The fabric file as one self-contained JSON Schema (draft-07: what editors' YAML/JSON plugins read). */
export function fabricJsonSchema(): Json {
  const refs = new Set<string>();
  const root = plain(FabricFile, refs);
  const definitions: Json = {};
  // Definitions may refer to further definitions: follow until none is new.
  for (let added = true; added;) {
    added = false;
    for (const name of [...refs].sort()) {
      if (Object.hasOwn(definitions, name)) continue;
      const s = NAMED.get(name);
      if (!s) throw new Error(`schema ${name} is referred to but not named in NAMED_SCHEMAS`);
      definitions[name] = plain(s, refs);
      added = true;
    }
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Fabric file',
    description: 'A data-center IP fabric: management and address pools, devices, links, overlay services (generated from src/domain/schema.ts)',
    ...root,
    definitions,
  };
}

/** The file's text (schemas/fabric.schema.json and the API reply are byte for byte this). */
export const fabricJsonSchemaText = (): string => `${JSON.stringify(fabricJsonSchema(), null, 2)}\n`;

// ---------------------------------------------------------------- docs/fabric-file.md

const PATTERN_NAMES = new Map<string, string>([
  [NAME_PATTERN, 'name'], [PORT_PATTERN, 'port name'], [HOST_PATTERN, 'IPv4 address or DNS name'],
  [CIDR_PATTERN, 'a.b.c.d/n'], [String(LinkEndText.pattern), 'device:port'], ['^[A-Za-z-]{1,32}$', 'role name'], [IPV4_PATTERN, 'a.b.c.d'], [MAC_PATTERN, 'MAC aa:bb:cc:dd:ee:ff'], [SAFE_TEXT, 'text, no control characters'],
]);

interface Row { key: string; type: string; required: boolean; dflt?: unknown; example?: unknown; description: string }

const deref = (s: Json): Json => (typeof s.$ref === 'string' ? (NAMED.get(refName(s.$ref)) as unknown as Json) : s);

function typeOf(s0: Json): string {
  const s = deref(s0);
  if (Array.isArray(s.anyOf)) return (s.anyOf as Json[]).map(typeOf).join(' | ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  const range = (lo: unknown, hi: unknown) => (lo !== undefined || hi !== undefined ? ` ${lo ?? ''}..${hi ?? ''}` : '');
  switch (s.type) {
    case 'string': {
      const p = typeof s.pattern === 'string' ? PATTERN_NAMES.get(s.pattern) ?? `\`${s.pattern}\`` : undefined;
      const len = s.maxLength !== undefined ? `, ≤ ${String(s.maxLength)} chars` : '';
      return `string${p ? ` (${p}${len})` : len ? ` (${len.slice(2)})` : ''}`;
    }
    case 'integer': case 'number': return `${String(s.type)}${range(s.minimum, s.maximum)}`;
    case 'boolean': return 'boolean';
    case 'null': return 'null';
    case 'object': return s.properties ? `mapping {${Object.keys(s.properties as Json).join(', ')}}` : 'mapping';
    case 'array': {
      const n = s.maxItems !== undefined ? `, ≤ ${String(s.maxItems)}` : '';
      return `list of ${typeOf(s.items as Json)}${n}`;
    }
    default: return 'any';
  }
}

function walk(s0: Json, key: string, required: boolean, rows: Row[]): void {
  const s = deref(s0);
  const desc = [s0.description, s !== s0 ? s.description : undefined].filter(Boolean).join('; ');
  if (key) rows.push({ key, type: typeOf(s), required, dflt: s.default, example: Array.isArray(s0.examples) ? s0.examples[0] : Array.isArray(s.examples) ? s.examples[0] : undefined, description: String(desc) });
  // The mappings this value may be (through unions and lists), with the key path of each.
  const objects: { o: Json; base: string }[] = [];
  const collect = (x: Json, base: string) => {
    const d = deref(x);
    if (Array.isArray(d.anyOf)) (d.anyOf as Json[]).forEach((y) => collect(y, base));
    else if (d.type === 'object' && d.properties) objects.push({ o: d, base });
    else if (d.type === 'array' && d.items && !Array.isArray(d.items)) collect(d.items as Json, `${base}[]`);
  };
  collect(s, key);
  for (const { o, base } of objects) {
    const req = new Set((o.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(o.properties as Json)) {
      const sub = `${base ? `${base}.` : ''}${k}`;
      if (rows.some((r) => r.key === sub)) continue; // the same key in two variants of a union
      walk(v as Json, sub, req.has(k), rows);
    }
  }
}

/** key path -> the first value the example files give it (short JSON; lists and mappings of scalars only). */
function examplesOf(samples: unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (v: unknown, key: string) => {
    if (Array.isArray(v)) { v.forEach((x) => visit(x, `${key}[]`)); }
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, key ? `${key}.${k}` : k);
    if (key && !out.has(key)) {
      const text = JSON.stringify(v);
      if (text.length <= 60) out.set(key, text);
    }
  };
  samples.forEach((s) => visit(s, ''));
  return out;
}

const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/fabric-file.md: every key with its type, whether it is required, default, an example, what it means. */
export function fabricFileMarkdown(samples: unknown[], sampleNames: string[]): string {
  const rows: Row[] = [];
  walk(FabricFile as unknown as Json, '', true, rows);
  const ex = examplesOf(samples);
  const sections = new Map<string, Row[]>();
  for (const r of rows) {
    const top = r.key.split(/[.[]/)[0];
    if (!sections.has(top)) sections.set(top, []);
    sections.get(top)!.push(r);
  }
  const lines = [
    '# The fabric file',
    '',
    '<!-- Generated by `npm run schema:gen` from src/domain/schema.ts; do not edit by hand (a unit test fails when this page is stale). -->',
    '',
    'A fabric file (YAML, or the same as JSON) describes one fabric: the `fabric` section (name, credentials, SNMP, address pools, settings),',
    'the `devices`, the `links` between them, and the overlay services (`virtualNetworks`, `logicalRouters`, `servers`, `vpgs`).',
    'The structure below is checked by the schema; the rules across objects (pools that must not overlap, unique names, roles a node profile allows,',
    'ports a profile knows, networks a VPG binds) are checked in code (src/domain/validate.ts, services.ts). Every error names where it is, e.g.',
    '`devices[3] (leaf2).roles[0]: ...`.',
    '',
    'Editors validate as you type with the JSON Schema `schemas/fabric.schema.json` (also served at `GET /api/v1/schemas/fabric.json`); see the README.',
    '`key[]` is an item of the list `key`. Examples come from ' + sampleNames.map((n) => `\`examples/${n}\``).join(', ') + '.',
    '',
  ];
  for (const [top, rs] of sections) {
    lines.push(`## \`${top}\``, '', '| key | type | required | default | example | description |', '|---|---|---|---|---|---|');
    for (const r of rs) {
      const e = ex.get(r.key) ?? (r.example === undefined ? undefined : JSON.stringify(r.example));
      lines.push(`| \`${r.key}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.dflt === undefined ? '' : `\`${JSON.stringify(r.dflt)}\``} | ${e ? `\`${cell(e)}\`` : ''} | ${cell(r.description)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
