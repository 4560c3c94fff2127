// Build time only: the OpenAPI document -> the CLI's command table (src/cli/command-table.json).
// Command names come from method + path (not from operationIds), so the table changes only
// when a route does. Run `npm run cli-table` after changing a route; test/unit/cli-table.test.ts
// fails while the checked-in table is stale. The document comes from src/api/openapi-doc.ts;
// the CLI itself never loads this file.

export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';

export interface CliParam {
  name: string;
  type: ParamType;
  description?: string;
  enum?: string[];
  required?: boolean;
}

export interface CliOperation {
  /** First word: the resource (`devices`, `jobs`, `virtual-networks` ...). */
  group: string;
  /** Second word: the verb (`list`, `show`, `create`, `patch`, `delete`, `config-history` ...). */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under /api/v1, with `{param}` placeholders. */
  path: string;
  summary: string;
  /** Path parameters, in path order: the command's positional arguments. */
  args: string[];
  query: CliParam[];
  /** Top-level body fields (options), when the route takes a JSON body. */
  body?: { fields: CliParam[]; required: boolean };
  /** Table columns: the scalar fields of the reply's list items, when the document says. */
  columns?: string[];
}

type Schema = Record<string, unknown> & { $ref?: string; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; type?: string | string[]; enum?: unknown[]; required?: string[]; description?: string };
interface OpenApiOp { summary?: string; parameters?: { in: string; name: string; required?: boolean; schema?: Schema; description?: string }[]; requestBody?: { content?: Record<string, { schema?: Schema }> }; responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }
export interface OpenApiDoc { paths: Record<string, Record<string, OpenApiOp>>; components?: { schemas?: Record<string, Schema> } }

export const API_PREFIX = '/api/v1';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function resolve(doc: OpenApiDoc, s: Schema | undefined, depth = 0): Schema | undefined {
  if (!s || depth > 8) return s;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    const target = doc.components?.schemas && Object.hasOwn(doc.components.schemas, name) ? doc.components.schemas[name] : undefined;
    return resolve(doc, target, depth + 1);
  }
  return s;
}

/** A schema's type as the CLI parses it; `anyOf` of string enums (typebox unions) is a string enum. */
function paramOf(doc: OpenApiDoc, name: string, raw: Schema | undefined, required: boolean): CliParam {
  const s = resolve(doc, raw) ?? {};
  let type: ParamType = 'string';
  let en: string[] | undefined;
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (Array.isArray(s.anyOf)) {
    const alts = s.anyOf.map((a) => resolve(doc, a) ?? {});
    const values = alts.flatMap((a) => (Array.isArray(a.enum) ? a.enum : a.const !== undefined ? [a.const] : []));
    if (values.length === alts.length && values.every((v) => typeof v === 'string')) en = values as string[];
    else type = alts.every((a) => a.type === 'integer' || a.type === 'number') ? 'number' : 'object';
  } else if (t === 'integer' || t === 'number' || t === 'boolean' || t === 'array' || t === 'object' || t === 'string') {
    type = t;
    if (t === 'array') {
      const it = resolve(doc, s.items) ?? {};
      if (it.type === 'object' || it.$ref || it.anyOf) type = 'object'; // a list of records: JSON
    }
  } else if (t === undefined && s.properties) type = 'object';
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) en = s.enum as string[];
  const p: CliParam = { name, type };
  const description = typeof s.description === 'string' ? s.description : undefined;
  if (description) p.description = description;
  if (en) p.enum = en;
  if (required) p.required = true;
  return p;
}

function jsonSchema(content: Record<string, { schema?: Schema }> | undefined): Schema | undefined {
  if (!content) return undefined;
  return content['application/json']?.schema;
}

/** The scalar fields of a list reply's items (`{items: [...]}`), for the table's columns. */
function listColumns(doc: OpenApiDoc, reply: Schema | undefined): string[] | undefined {
  const r = resolve(doc, reply);
  const items = resolve(doc, r?.properties?.items);
  if (!items || items.type !== 'array') return undefined;
  const row = resolve(doc, items.items);
  if (!row?.properties) return undefined;
  const cols = Object.entries(row.properties)
    .filter(([, ps]) => {
      const p = resolve(doc, ps) ?? {};
      if (p.type === 'object' || (p.properties && !p.type)) return false;
      if (p.type === 'array') { const it = resolve(doc, p.items) ?? {}; return it.type !== 'object' && !it.$ref && !it.properties; }
      return true;
    })
    .map(([k]) => k);
  return cols.length ? cols.slice(0, 9) : undefined;
}

/**
 * Names one operation. The words are the path's fixed segments; `fabrics` is dropped when it
 * only scopes a sub-resource (the fabric is the first argument). The verb: GET on `.../{x}` is
 * show, GET on a list is list (show for a single record), POST on a list is create, POST on
 * a path with no GET is an action named by its last word (`jobs cancel`, `fabrics onboard`),
 * PUT is set, PATCH patch, DELETE delete. Words between the resource and the end join with `-`.
 */
export function nameOperation(method: string, path: string, hasGet: boolean, singleRecord: boolean): { group: string; name: string } {
  const segs = path.split('/').filter(Boolean);
  const words = segs.filter((s) => !s.startsWith('{'));
  const endsWithParam = segs[segs.length - 1]?.startsWith('{') ?? false;
  const m = method.toUpperCase();
  const action = m === 'POST' && !endsWithParam && !hasGet;
  const res = action ? words.slice(0, -1) : words.slice();
  if (res.length > 1 && res[0] === 'fabrics') res.shift();
  const group = res[0] ?? words[0];
  const sub = res.slice(1).join('-');
  let verb: string;
  if (action) verb = words[words.length - 1];
  else if (m === 'GET') verb = endsWithParam || singleRecord ? 'show' : 'list';
  else verb = ({ POST: 'create', PUT: 'set', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[m] ?? m.toLowerCase();
  let name: string;
  if (!sub) name = verb;
  else if (action) name = `${sub}-${verb}`;
  // a GET of a sub-resource reads best as its name: `devices config`, `devices config-history`
  else if (m === 'GET') name = sub;
  else name = `${verb}-${sub}`;
  return { group, name };
}

/** The whole table, sorted by group and name. Routes that are not plain JSON (SSE) are left out. */
export function buildCommandTable(doc: OpenApiDoc): CliOperation[] {
  const out: CliOperation[] = [];
  for (const [full, ops] of Object.entries(doc.paths)) {
    if (!full.startsWith(`${API_PREFIX}/`)) continue;
    const path = full.slice(API_PREFIX.length);
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const ok = op.responses?.['200'] ?? op.responses?.['201'] ?? op.responses?.['202'] ?? op.responses?.['204'];
      // Streams are followed by hand-written commands (jobs watch).
      if (ok?.content && Object.keys(ok.content).some((c) => c.startsWith('text/event-stream'))) continue;
      const reply = resolve(doc, jsonSchema(ok?.content));
      const single = method === 'get' && !!reply && !(resolve(doc, reply.properties?.items)?.type === 'array');
      const { group, name } = nameOperation(method, path, !!ops.get, single);
      const params = op.parameters ?? [];
      const args = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]);
      const query = params.filter((p) => p.in === 'query').map((p) => {
        const q = paramOf(doc, p.name, p.schema, p.required === true);
        if (!q.description && p.description) q.description = p.description;
        return q;
      });
      const entry: CliOperation = { group, name, method: method.toUpperCase() as CliOperation['method'], path, summary: op.summary ?? '', args, query };
      const bodySchema = resolve(doc, jsonSchema(op.requestBody?.content));
      if (op.requestBody) {
        const req = new Set(bodySchema?.required ?? []);
        const fields = Object.entries(bodySchema?.properties ?? {}).map(([k, s]) => paramOf(doc, k, s, req.has(k)));
        entry.body = { fields, required: (op.requestBody as { required?: boolean }).required === true };
      }
      if (method === 'get') {
        const cols = listColumns(doc, reply);
        if (cols) entry.columns = cols;
      }
      out.push(entry);
    }
  }
  // Two routes must never map to one command.
  const seen = new Map<string, string>();
  for (const e of out) {
    const k = `${e.group} ${e.name}`;
    const prev = seen.get(k);
    if (prev) throw new Error(`command "${k}" would run both ${prev} and ${e.method} ${e.path}: rename one route or extend nameOperation`);
    seen.set(k, `${e.method} ${e.path}`);
  }
  return out.sort((a, b) => (a.group === b.group ? a.name.localeCompare(b.name) : a.group.localeCompare(b.group)));
}

/** The table file's text (stable: the test compares it byte for byte). */
export function commandTableText(doc: OpenApiDoc): string {
  // One operation per line: compact, and a route's change is a one-line diff.
  const ops = buildCommandTable(doc).map((o) => `  ${JSON.stringify(o)}`).join(',\n');
  return `{"generatedBy": "npm run cli-table (src/cli/table-build.ts)", "operations": [\n${ops}\n]}\n`;
}
