// Who may call what, decided on the route that matched (never on the raw URL): every route
// states `config.role` or `config.public`, or the app refuses to start. Also the reply
// headers every answer carries, the audit trail of writes, and the rate limits.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { ROLES, roleAllows, type Role, type TokenStore } from './auth';

export interface RouteAccess { method: string; url: string; public: boolean; role?: Role }

/** Route options of a plugin scope whose routes are public (devices, health probes, docs). */
export function markPublic(routeOptions: RouteOptions): void {
  routeOptions.config = { ...(routeOptions.config ?? {}), public: true };
}

/**
 * Records every route with what it needs, and refuses (at ready) a route that says neither:
 * deny by default means a forgotten `role` is a start-up error, not an open route. Checked at
 * ready, not in onRoute, because a plugin scope's own onRoute hook (markPublic) runs after
 * this root hook on the same route options.
 */
export function collectRouteAccess(app: FastifyInstance, table: RouteAccess[]): void {
  const seen: RouteOptions[] = [];
  app.addHook('onRoute', (r) => {
    // Swagger UI's own pages (the /docs plugin) are static and carry no data.
    if (r.url === '/docs' || r.url.startsWith('/docs/')) markPublic(r);
    seen.push(r);
  });
  app.addHook('onReady', async () => {
    for (const r of seen) {
      const cfg = (r.config ?? {}) as { role?: Role; public?: boolean };
      if (cfg.public !== true && !(cfg.role && ROLES.includes(cfg.role))) {
        throw new Error(`route ${String(r.method)} ${r.url}: needs config.role (${ROLES.join('|')}) or config.public`);
      }
      for (const m of ([] as string[]).concat(r.method as string | string[])) {
        table.push({ method: m, url: r.url, public: cfg.public === true, ...(cfg.role ? { role: cfg.role } : {}) });
      }
    }
  });
}

/** Failed authentications per client address: a flood of bad tokens costs one Map lookup. */
class FailureLimiter {
  private readonly hits = new Map<string, { n: number; until: number }>();
  constructor(private readonly max: number, private readonly windowMs: number) {}
  blocked(ip: string, now = Date.now()): boolean {
    const h = this.hits.get(ip);
    return !!h && h.until > now && h.n >= this.max;
  }
  fail(ip: string, now = Date.now()): void {
    const h = this.hits.get(ip);
    if (!h || h.until <= now) {
      if (this.hits.size >= 10_000) this.hits.clear();
      this.hits.set(ip, { n: 1, until: now + this.windowMs });
    } else h.n++;
  }
}

const unauthorized = (reply: FastifyReply, message: string) =>
  reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message });

/** The auth hook: public routes pass; everything else needs a token of the route's role. */
export function installAuth(app: FastifyInstance, tokens: TokenStore, failuresPerMinute = 120): void {
  const failures = new FailureLimiter(failuresPerMinute, 60_000);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // No route matched: the not-found handler answers (it reveals nothing but "no such route").
    if (!req.routeOptions.url) return;
    const cfg = req.routeOptions.config as { role?: Role; public?: boolean };
    if (cfg.public === true) return;
    const need: Role = cfg.role ?? 'admin';
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
    // An address that keeps failing is answered without a Redis lookup, except for tokens
    // already verified (a valid client behind the same address keeps working).
    if (failures.blocked(req.ip) && !(m && tokens.cached(m[1]))) {
      return reply.status(429).header('retry-after', '60').send({ error: 'too_many_requests', message: 'too many failed authentications from this address; retry in a minute' });
    }
    if (!m) { failures.fail(req.ip); return unauthorized(reply, 'missing bearer token (Authorization: Bearer <token>)'); }
    const info = await tokens.verify(m[1]);
    if (!info) { failures.fail(req.ip); return unauthorized(reply, 'invalid or revoked token'); }
    req.auth = info;
    if (!roleAllows(info.role, need)) {
      return reply.status(403).send({ error: 'forbidden', message: `this needs the ${need} role; the token has ${info.role}` });
    }
  });
}

/**
 * Headers on every reply. The API answers JSON only, so its policy forbids everything; the
 * Swagger UI and the web UI set their own CSP on their routes (kept when already set).
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (!reply.hasHeader('content-security-policy')) {
      const docs = req.url === '/docs' || req.url.startsWith('/docs/');
      reply.header('content-security-policy', docs
        ? "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
        : "default-src 'none'; frame-ancestors 'none'");
    }
    if (!reply.hasHeader('cache-control') && req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });
}

export interface AuditEntry {
  id: string; at: string; actor: string; method: string; route: string; status: number;
  params?: Record<string, string>; ip: string;
}
export const AUDIT_KEY = 'fz:audit';
const AUDIT_MAX = 100_000;

/**
 * Every authenticated write (POST/PUT/PATCH/DELETE that answered < 400) and every refusal of
 * a known token (403) goes to one Redis stream with its actor. Bodies are not recorded
 * (they may carry credentials); what changed is in the fabric's own events.
 */
export function installAudit(app: FastifyInstance, redis: Redis): void {
  app.addHook('onResponse', async (req, reply) => {
    if (!req.auth || !req.routeOptions.url) return;
    const write = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    const status = reply.statusCode;
    if (!((write && status < 400) || status === 403)) return;
    const params = (req.params ?? {}) as Record<string, string>;
    const fields = [
      'at', new Date().toISOString(), 'actor', `token:${req.auth.id}(${req.auth.role})`, 'method', req.method,
      'route', req.routeOptions.url, 'status', String(status), 'ip', req.ip,
    ];
    if (Object.keys(params).length) fields.push('params', JSON.stringify(params));
    try {
      await redis.xadd(AUDIT_KEY, 'MAXLEN', '~', String(AUDIT_MAX), '*', ...fields);
    } catch (e) {
      req.log.warn({ err: (e as Error).message, route: req.routeOptions.url }, 'audit entry not written');
    }
  });
}

export async function listAudit(redis: Redis, opts: { since?: string; limit?: number }): Promise<{ items: AuditEntry[]; next?: string }> {
  const limit = Math.max(1, Math.min(opts.limit ?? 100, 10_000));
  const start = opts.since ? `(${opts.since}` : '-';
  const rows = await redis.xrange(AUDIT_KEY, start, '+', 'COUNT', limit);
  const items = rows.map(([id, flat]) => {
    const o = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) o.set(flat[i], flat[i + 1]);
    const e: AuditEntry = {
      id, at: o.get('at') ?? '', actor: o.get('actor') ?? '', method: o.get('method') ?? '', route: o.get('route') ?? '',
      status: Number(o.get('status') ?? 0), ip: o.get('ip') ?? '',
    };
    const p = o.get('params');
    if (p) e.params = JSON.parse(p) as Record<string, string>;
    return e;
  });
  return items.length === limit ? { items, next: items[items.length - 1].id } : { items };
}

export interface RateLimits {
  /** Requests per minute per token on authenticated routes (0: off). */
  perMinute: number;
  /** POST /tokens per minute per token. */
  tokensPerMinute: number;
  /** Failed authentications per minute per client address before 429 (default 120). */
  authFailuresPerMinute?: number;
}

/**
 * Per-token limits (after auth, so the key is the token id) kept in Redis, so several API
 * processes share them; a Redis error lets the request through (the outage answer is 503).
 */
export async function installRateLimits(app: FastifyInstance, redis: Redis, limits: RateLimits): Promise<void> {
  if (limits.perMinute <= 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: (req) => (req.routeOptions.url?.endsWith('/tokens') && req.method === 'POST' ? limits.tokensPerMinute : limits.perMinute),
    timeWindow: 60_000,
    redis,
    nameSpace: 'fz:rl:',
    skipOnError: true,
    // Public routes (probes, devices fetching their bootstrap) are not limited per token.
    allowList: (req) => !req.auth,
    keyGenerator: (req) => `${req.auth?.id ?? req.ip}:${req.routeOptions.url?.endsWith('/tokens') && req.method === 'POST' ? 'tokens' : 'all'}`,
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429, error: 'too_many_requests',
      message: `rate limit: at most ${ctx.max} requests per minute for this token; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });
}
