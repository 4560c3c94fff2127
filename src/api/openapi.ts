// operationIds for the OpenAPI document, derived in one place from method and path so client
// generators (openapi-typescript, the CLI) get stable, readable names: GET /fabrics/:f/devices
// is listFabricDevices, POST /fabrics/:f/virtual-networks createFabricVirtualNetwork. A route
// that sets schema.operationId keeps its own.
import type { FastifyInstance, RouteOptions } from 'fastify';

/** Sub-resources that are one thing, not a collection: GET reads it, PUT sets it. */
const SINGLETONS = new Set(['namespaces', 'allocations', 'config', 'drift', 'history', 'roles', 'host-key', 'stream', 'whoami', 'openapi.json', 'metrics', 'healthz', 'readyz', 'backup']);
/** Segments that name an action: POST .../autoconfigure is autoconfigureFabric. */
const ACTIONS = new Set(['autoconfigure', 'onboard', 'cancel', 'rollback', 'restore']);

const pascal = (seg: string) => seg.replace(/\.json$/, '').split(/[-_.]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
const singular = (seg: string) => (SINGLETONS.has(seg) ? seg : seg.replace(/ies$/, 'y').replace(/s$/, ''));

/** `GET /api/v1/fabrics/:f/devices` -> `listFabricDevices` (the /api/v1 prefix is dropped). */
export function operationIdFor(method: string, url: string): string {
  const segs = url.replace(/^\/api\/v\d+/, '').split('/').filter(Boolean);
  const m = method.toUpperCase();
  const isParam = (s: string) => s.startsWith(':') || s.startsWith('*');
  const last = segs[segs.length - 1];
  const statics = segs.filter((s) => !isParam(s));
  // Every noun but the last one names one thing (fabrics/:f -> Fabric).
  const lead = statics.slice(0, -1).map((s) => pascal(singular(s))).join('');
  const tail = statics[statics.length - 1] ?? 'root';
  if (last === undefined) return `${m.toLowerCase()}Root`;
  if (isParam(last)) {
    const verb = ({ GET: 'get', PATCH: 'update', PUT: 'replace', DELETE: 'delete', HEAD: 'head' } as Record<string, string>)[m] ?? m.toLowerCase();
    return `${verb}${lead}${pascal(singular(tail))}`;
  }
  if (m === 'POST' && ACTIONS.has(tail)) return `${tail}${lead}`;
  if (SINGLETONS.has(tail)) {
    const verb = ({ GET: 'get', PUT: 'set', DELETE: 'delete', POST: 'post', PATCH: 'update', HEAD: 'head' } as Record<string, string>)[m] ?? m.toLowerCase();
    return `${verb}${lead}${pascal(tail)}`;
  }
  const verb = ({ GET: 'list', POST: 'create', PUT: 'replace', DELETE: 'deleteAll', PATCH: 'update', HEAD: 'head' } as Record<string, string>)[m] ?? m.toLowerCase();
  return m === 'POST' ? `${verb}${lead}${pascal(singular(tail))}` : `${verb}${lead}${pascal(tail)}`;
}

/** An onRoute hook on the root instance: every route (in every scope) gets its operationId. */
export function installOperationIds(app: FastifyInstance): void {
  app.addHook('onRoute', (r: RouteOptions) => {
    const schema = (r.schema ?? {}) as Record<string, unknown>;
    if (schema.hide || typeof schema.operationId === 'string') return;
    const method = ([] as string[]).concat(r.method as string | string[])[0];
    r.schema = { ...schema, operationId: operationIdFor(method, r.url) };
  });
}

/**
 * OpenAPI 3.0 Schema Objects have `example` (one value), not JSON Schema's `examples` (a list),
 * which the one schema uses for the docs and editors: convert them everywhere in the document
 * (@fastify/swagger converts only the top level of a body). Mutates and returns the document.
 */
export function oas30Examples<T>(doc: T): T {
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) { v.forEach(walk); return; }
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.examples) && (typeof o.type === 'string' || o.anyOf || o.properties)) {
      if (o.example === undefined && o.examples.length) o.example = o.examples[0];
      delete o.examples;
    }
    Object.values(o).forEach(walk);
  };
  walk(doc);
  return doc;
}
