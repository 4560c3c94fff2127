// A fuzzer driven by the service's own OpenAPI document: for every operation, requests whose
// path parameters, query and body are drawn from the operation's schemas (mostly well-formed,
// often broken: wrong types, missing or unknown fields, control characters, huge or prototype
// strings). Checks per request: no 5xx, an answer within the bound, and a rejected request
// (4xx) leaves the stored fabric exactly as it was.
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { dumpKeys } from './redis';

type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface Operation { method: string; path: string; params: string[]; query: Record<string, Schema>; body?: Schema }

export function operations(doc: Schema): Operation[] {
  const out: Operation[] = [];
  for (const [p, item] of Object.entries<Schema>(doc.paths)) {
    for (const [m, op] of Object.entries<Schema>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(m)) continue;
      const params = (op.parameters ?? []) as Schema[];
      out.push({
        method: m.toUpperCase(),
        path: p,
        params: params.filter((x) => x.in === 'path').map((x) => x.name as string),
        query: Object.fromEntries(params.filter((x) => x.in === 'query').map((x) => [x.name as string, x.schema as Schema])),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return out.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** What no schema expects: wrong types, prototype names, control characters, huge text. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', '', ' ', '\n', 'a\nb', 'x\u0000y', '../../etc/passwd', '%00', '${x}', '{{ x }}', '<a/>', '\u202e', 'é'.repeat(20)),
  fc.string({ maxLength: 40 }),
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constant('x'.repeat(70_000)),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'a', 'name'), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

function resolve(s: Schema, doc: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 10 && cur && typeof cur.$ref === 'string'; i++) {
    const name = (cur.$ref as string).replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
    cur = doc.components?.schemas?.[name] ?? {};
  }
  return cur ?? {};
}

function patternString(pattern: string, maxLength?: number): fc.Arbitrary<string> {
  try {
    return fc.stringMatching(new RegExp(pattern)).filter((x) => maxLength === undefined || x.length <= maxLength);
  } catch {
    return fc.string({ maxLength: maxLength ?? 20 });
  }
}

/** Values for a schema: well-formed most of the time, broken some of the time (at every depth). */
export function valueFor(s0: Schema, doc: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(s0, doc);
  const good = ((): fc.Arbitrary<unknown> => {
    if (depth > 5) return fc.constant(null);
    if (s.const !== undefined) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (alts?.length) return fc.oneof(...alts.map((a) => valueFor(a, doc, depth + 1)));
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    switch (type) {
      case 'object': {
        const props = (s.properties ?? {}) as Record<string, Schema>;
        const required = new Set<string>((s.required as string[] | undefined) ?? []);
        const rec = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v, doc, depth + 1)]));
        return fc.record(rec, { requiredKeys: [...required].filter((k) => k in rec) });
      }
      case 'array':
        return fc.array(valueFor(s.items ?? {}, doc, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
      case 'string':
        return s.pattern ? patternString(s.pattern as string, s.maxLength as number | undefined) : fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 30, 30) });
      case 'integer':
        return fc.integer({ min: Math.max(s.minimum ?? -1e6, -(2 ** 31)), max: Math.min(s.maximum ?? 1e6, 2 ** 32) });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      default:
        return fc.anything({ maxDepth: 1 });
    }
  })();
  return fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: junk });
}

export interface FuzzRequest { method: string; url: string; body?: unknown; rawBody?: string }

/** Requests for one operation: names that exist (so the handler runs) or junk (so lookups are tried). */
export function requestFor(op: Operation, doc: Schema, known: Record<string, string[]>): fc.Arbitrary<FuzzRequest> {
  const param = (name: string, last: boolean) => {
    const real = known[name] ?? [];
    // A DELETE never aims at a real object in its last parameter: the fuzz would eat its own fabric.
    const useReal = real.length && !(op.method === 'DELETE' && last);
    return fc.oneof({ weight: useReal ? 4 : 0, arbitrary: useReal ? fc.constantFrom(...real) : fc.constant('x') },
      { weight: 1, arbitrary: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('constructor', '__proto__', '..', '%2e%2e', 'a b', '\u00e9')) })
      .map((v) => encodeURIComponent(v));
  };
  const params = fc.tuple(...op.params.map((n, i) => param(n, i === op.params.length - 1)));
  const query = fc.record(Object.fromEntries(Object.entries(op.query).map(([k, s]) => [k, valueFor(s, doc)])), { requiredKeys: [] });
  const body: fc.Arbitrary<{ body?: unknown; rawBody?: string }> = op.body
    ? fc.oneof({ weight: 8, arbitrary: valueFor(op.body, doc).map((b) => ({ body: b })) },
      { weight: 1, arbitrary: fc.constantFrom('{', '[]', 'null', '"x"', '{"a":1,"a":2}', '\u0000').map((raw) => ({ rawBody: raw })) })
    : fc.constant({});
  return fc.tuple(params, query, body).map(([ps, q, b]) => {
    let url = op.path;
    op.params.forEach((n, i) => { url = url.replace(`{${n}}`, ps[i]); });
    const qs = Object.entries(q as Record<string, unknown>).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`).join('&');
    return { method: op.method, url: qs ? `${url}?${qs}` : url, ...b };
  });
}

/** The stored state of one fabric, canonical (what a rejected request must leave as it was). */
export async function fabricState(redis: Redis, fabric: string): Promise<string> {
  const keys = await dumpKeys(redis, `fz:f:${fabric}:*`);
  // The intended-config cache and the device-list change log are derived, not state.
  for (const k of Object.keys(keys)) if (/:(intended|dchg|dver|dfloor)$/.test(k)) delete keys[k];
  return JSON.stringify({ record: await redis.hget('fz:fabrics', fabric), keys });
}

export interface FuzzReport { requests: number; byStatus: Record<string, number>; slowest: number; problems: string[] }

/**
 * Runs `runs` requests (seeded: the same seed sends the same requests) with an admin token.
 * No workers should run: queued jobs then never change the fabric behind the fuzzer's back.
 */
export async function fuzzApi(o: {
  base: string; token: string; redis: Redis; doc: Schema; fabric: string; known: Record<string, string[]>;
  seed: number; runs: number; timeoutMs?: number;
}): Promise<FuzzReport> {
  const ops = operations(o.doc);
  const all = fc.oneof(...ops.map((op) => requestFor(op, o.doc, o.known)));
  const samples = fc.sample(all, { seed: o.seed, numRuns: o.runs });
  const report: FuzzReport = { requests: 0, byStatus: {}, slowest: 0, problems: [] };
  const limit = o.timeoutMs ?? 5000;
  for (const r of samples) {
    const before = await fabricState(o.redis, o.fabric);
    const t0 = Date.now();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), limit);
    let status = 0;
    try {
      const hasBody = r.body !== undefined || r.rawBody !== undefined;
      const res = await fetch(o.base + r.url, {
        method: r.method, signal: ctl.signal,
        headers: { authorization: `Bearer ${o.token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
        ...(hasBody ? { body: r.rawBody ?? JSON.stringify(r.body) } : {}),
      });
      status = res.status;
      const text = await res.text();
      if (status >= 400) {
        let j: Schema | undefined;
        try { j = JSON.parse(text) as Schema; } catch { j = undefined; }
        if (!j || typeof j.error !== 'string' || typeof j.message !== 'string') report.problems.push(`${r.method} ${r.url.slice(0, 120)}: ${status} without {error, message}: ${text.slice(0, 120)}`);
      }
    } catch (e) {
      report.problems.push(`${r.method} ${r.url.slice(0, 120)}: no answer within ${limit} ms (${(e as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
    const ms = Date.now() - t0;
    report.slowest = Math.max(report.slowest, ms);
    report.requests++;
    report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
    if (status >= 500) report.problems.push(`${r.method} ${r.url.slice(0, 120)} body ${JSON.stringify(r.body ?? r.rawBody)?.slice(0, 200)}: ${status}`);
    if (status >= 400 && status < 500) {
      const after = await fabricState(o.redis, o.fabric);
      if (after !== before) report.problems.push(`${r.method} ${r.url.slice(0, 120)} was refused (${status}) but changed the stored fabric`);
    }
  }
  return report;
}
