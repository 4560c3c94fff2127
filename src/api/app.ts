// The REST API (DESIGN §5): JSON under /api/v1 with bearer tokens; /healthz, /readyz,
// /metrics and /docs at the root. Built from dependencies so tests use fastify.inject.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import type { JobSystem } from '../jobs/engine';
import type { Store } from '../store';
import { TokenStore, roleAllows, type Role, type TokenInfo } from './auth';
import { errorHandler } from './errors';
import { createMetrics, type Metrics } from './metrics';
import { ErrorReply } from './schemas';
import { registerFabricRoutes } from './routes-fabrics';
import { registerJobRoutes } from './routes-jobs';
import { registerAdminRoutes } from './routes-admin';
import { registerStreamRoutes } from './routes-stream';
import { registerWhoamiRoute, uiRoutes } from './routes-ui';
import { ztpRoutes } from '../discovery/service';

export interface ApiDeps {
  store: Store;
  jobs: JobSystem;
  tokens: TokenStore;
  config: ServiceConfig;
  logger: Logger;
}

export interface ApiContext extends ApiDeps {
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyRequest { auth?: TokenInfo }
  interface FastifyContextConfig { role?: Role; public?: boolean }
}

export const API_PREFIX = '/api/v1';

export type App = FastifyInstance & { metrics: Metrics };

export async function buildApp(deps: ApiDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: 32 * 1024 * 1024,
    // coerceTypes 'array': query strings arrive as text (limit=50).
    ajv: { customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false } },
    return503OnClosing: true,
  });
  const metrics = createMetrics({ jobs: deps.jobs, store: deps.store });
  const ctx: ApiContext = { ...deps, metrics };

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addSchema(ErrorReply);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Fabric service API', version: '1.0.0', description: 'Data-center IP fabric lifecycle and zero-touch provisioning. Bearer tokens: viewer (reads), operator (runs jobs, roles), admin (fabrics, devices, links, tokens).' },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Latency for every request, labelled by route pattern (not the raw URL).
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.apiLatency.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.warn({ method: req.method, route, status: reply.statusCode }, 'request failed');
    else req.log.debug({ method: req.method, route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  // Auth: every /api/v1 route names the role it needs; the OpenAPI document is public.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const cfg = req.routeOptions.config;
    // Unmatched URLs fall through to the 404 handler; public routes need no token.
    if (!req.url.startsWith(API_PREFIX) || cfg?.public || !req.routeOptions.url) return;
    const need: Role = cfg?.role ?? 'admin';
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    if (!m) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'missing bearer token (Authorization: Bearer <token>)' });
    }
    const info = await deps.tokens.verify(m[1]);
    if (!info) return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'invalid or revoked token' });
    if (!roleAllows(info.role, need)) {
      return reply.status(403).send({ error: 'forbidden', message: `this needs the ${need} role; the token has ${info.role}` });
    }
    req.auth = info;
  });

  app.get('/healthz', { schema: { hide: true }, config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true }, config: { public: true } }, async (_req, reply) => {
    const ok = await deps.store.ping(1000);
    if (!ok) return reply.status(503).send({ error: 'unavailable', message: 'redis is not reachable' });
    return { status: 'ready' };
  });
  app.get('/metrics', { schema: { hide: true }, config: { public: true } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true }, config: { public: true } }, async () => app.swagger());

  await app.register(async (api) => {
    registerFabricRoutes(api, ctx);
    registerJobRoutes(api, ctx);
    registerAdminRoutes(api, ctx);
    require('./routes-services').registerServiceRoutes(api, ctx);
    registerStreamRoutes(api, ctx);
    registerWhoamiRoute(api);
  }, { prefix: API_PREFIX });

  // The web UI at /ui/ (public: the page holds no data; the API calls carry the token).
  await app.register(uiRoutes());

  // Discovery's ZTP bootstrap, GET /ztp/<serial>?t=<token> (public: devices carry no token).
  await app.register(ztpRoutes(deps.store));

  await app.ready();
  return Object.assign(app as unknown as FastifyInstance, { metrics });
}

/** The actor recorded in events: the token id and role, never the token. */
export function actorOf(req: FastifyRequest): { actor: string } {
  return { actor: req.auth ? `token:${req.auth.id}(${req.auth.role})` : 'system' };
}
