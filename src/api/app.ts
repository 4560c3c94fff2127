// The REST API: JSON under /api/v1 with bearer tokens; /healthz, /readyz, /metrics (viewer) and
// /docs at the root. Built from dependencies so tests build it with a test Redis.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import type { JobSystem } from '../jobs/engine';
import type { Store } from '../store';
import { STATUS_CODES } from 'node:http';
import { actorOf, type ApiContext, type ApiDeps } from './context';

export { actorOf, type ApiContext, type ApiDeps };
import { clientErrorCode, errorHandler } from './errors';
import { collectRouteAccess, installAudit, installAuth, installRateLimits, installSecurityHeaders, markPublic, type RateLimits, type RouteAccess } from './security';
import { registerServiceRoutes } from './routes-services';
import { installOperationIds, oas30Examples } from './openapi';
import { createMetrics, type Metrics } from './metrics';
import { REPLY_SCHEMAS } from './schemas';
import { NAMED_SCHEMAS } from '../domain/schema';
import { BODY_LIMIT } from './limits';
import { registerFabricRoutes } from './routes-fabrics';
import { registerJobRoutes } from './routes-jobs';
import { registerAdminRoutes } from './routes-admin';
import { registerBackupRoutes } from './routes-backup';
import { registerStreamRoutes } from './routes-stream';
import { registerWhoamiRoute, uiRoutes } from './routes-ui';
import { ztpRoutes } from '../discovery/service';

export const API_PREFIX = '/api/v1';
export { BODY_LIMIT, FABRIC_FILE_LIMIT } from './limits';
/** Longer request targets answer 414 (the route table has nothing that long). */
const MAX_URL = 4096;

export type App = FastifyInstance & { metrics: Metrics; routeAccess: RouteAccess[] };

export async function buildApp(deps: ApiDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // coerceTypes 'array': query strings arrive as text (limit=50).
    ajv: { customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false } },
    return503OnClosing: true,
    routerOptions: { maxParamLength: 500 },
    // Errors found before routing (a bad URL encoding, a path parameter over maxParamLength).
    frameworkErrors: (err, _req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: clientErrorCode(status), message: err.message.split('\n')[0].slice(0, 300) });
    },
    // Errors the HTTP parser finds before fastify routes anything (431 headers too large, 400
    // malformed request line) answer in the same {error, message} shape as the rest.
    clientErrorHandler: (err: Error & { code?: string }, socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
      const body = JSON.stringify({ error: clientErrorCode(status), message: status === 431 ? 'request headers too large' : status === 414 ? 'request target too long' : 'malformed HTTP request' });
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      } else socket.destroy(err);
    },
  });
  const metrics = createMetrics({ jobs: deps.jobs, store: deps.store });
  const ctx: ApiContext = { ...deps, metrics };
  const routeAccess: RouteAccess[] = [];
  collectRouteAccess(app, routeAccess);
  installOperationIds(app);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` });
  });
  for (const sch of [...NAMED_SCHEMAS, ...REPLY_SCHEMAS]) app.addSchema(sch);

  // Before anything else: an absurd target, and Redis down (answer now, not when it returns).
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.length > MAX_URL) return reply.status(414).send({ error: 'uri_too_long', message: `request target longer than ${MAX_URL} characters` });
    if (req.routeOptions.url && !req.routeOptions.config.public && deps.store.redis.status !== 'ready') {
      return reply.status(503).header('retry-after', '5').send({ error: 'unavailable', message: 'redis is not reachable; retry when it is back' });
    }
  });
  const limits = deps.rateLimits ?? { perMinute: deps.config.rateLimitPerMinute ?? 3000, tokensPerMinute: 20 };
  installAuth(app, deps.tokens, limits.authFailuresPerMinute);
  installSecurityHeaders(app);
  installAudit(app, deps.store.redis);
  await installRateLimits(app, deps.store.redis, limits);

  await app.register(swagger, {
    // Component schemas keep their $id as their name (not def-0, def-1, ...).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (d) => oas30Examples((d as { openapiObject: Record<string, unknown> }).openapiObject),
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Fabric service API', version: '1.0.0', description: 'Data-center IP fabric lifecycle and zero-touch provisioning. Bearer tokens: viewer (reads), operator (runs jobs, roles), admin (fabrics, devices, links, tokens).' },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  // Latency for every request, labelled by route pattern (not the raw URL).
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.apiLatency.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.warn({ method: req.method, route, status: reply.statusCode }, 'request failed');
    else req.log.debug({ method: req.method, route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  const open = { schema: { hide: true }, config: { public: true } } as const;
  app.get('/healthz', open, async (_req, reply) => {
    // The process answers; whether its store does is part of the answer.
    if (!(await deps.store.ping(1000))) return reply.status(503).send({ error: 'unavailable', message: 'redis is down', status: 'degraded', redis: 'down' });
    return { status: 'ok', redis: 'up' };
  });
  app.get('/readyz', open, async (_req, reply) => {
    const ok = await deps.store.ping(1000);
    if (!ok) return reply.status(503).send({ error: 'unavailable', message: 'redis is not reachable' });
    return { status: 'ready' };
  });
  // A viewer token (Prometheus sends it: `authorization: {type: Bearer}`): the labels name
  // fabrics and job types, which an unauthenticated caller must not learn (docs/SECURITY.md).
  app.get('/metrics', { schema: { hide: true }, config: { role: 'viewer' } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
  app.get(`${API_PREFIX}/openapi.json`, open, async () => app.swagger());

  await app.register(async (api) => {
    registerFabricRoutes(api, ctx);
    registerJobRoutes(api, ctx);
    registerAdminRoutes(api, ctx);
    registerBackupRoutes(api, ctx);
    registerServiceRoutes(api, ctx);
    registerStreamRoutes(api, ctx);
    registerWhoamiRoute(api);
  }, { prefix: API_PREFIX });

  // The web UI at /ui/ (public: the page holds no data; the API calls carry the token).
  await app.register(uiRoutes());

  // Discovery's ZTP bootstrap, GET /ztp/<serial>?t=<token>: public because devices carry no
  // token (the one-time token in the URL is the credential). Marked on its routes, in this scope.
  await app.register(async (z) => {
    z.addHook('onRoute', markPublic);
    await z.register(ztpRoutes(deps.store));
  });

  await app.ready();
  return Object.assign(app as unknown as FastifyInstance, { metrics, routeAccess });
}
