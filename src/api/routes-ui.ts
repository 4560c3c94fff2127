// The web UI (issue 17): the built single-page app (ui/, built by scripts/setup.sh into
// dist/webui) served at /ui/ from memory, every deep URL (/ui/fabrics/dc1) answered with
// index.html so views can be bookmarked and reloaded. The page holds no data and no secret: it
// is public, and everything it shows comes through /api/v1 with the user's token. A strict
// Content-Security-Policy: scripts, styles and workers from this origin only, nothing inline.
// Also GET /api/v1/whoami, so the UI offers only what the token's role may do.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ApiError } from './errors';

export const UI_PREFIX = '/ui';

export const UI_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "worker-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};

interface Asset { body: Buffer; gz?: Buffer; type: string; etag: string; cache: string }

/** dist/webui, from the sources (jest: src/api) or the build (dist/src/api). */
export function defaultUiDir(): string {
  const up = path.resolve(__dirname, '../..');
  return path.basename(up) === 'dist' ? path.join(up, 'webui') : path.join(up, 'dist', 'webui');
}

/** Every file of the build by URL path below /ui/, in memory (the whole UI is a few files). */
export function loadUiAssets(dir: string): Map<string, Asset> | undefined {
  if (!existsSync(path.join(dir, 'index.html'))) return undefined;
  const out = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const e of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) { walk(rel); continue; }
      const body = readFileSync(path.join(dir, rel));
      const ext = path.extname(e.name);
      const type = TYPES[ext] ?? 'application/octet-stream';
      // Hashed names (app-4F2K9Q.js) never change content: cache for a year; the page revalidates.
      const hashed = /-[A-Za-z0-9_]{8,}\.[a-z0-9]+$/.test(e.name);
      const cache = rel === 'index.html' ? 'no-cache' : hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=3600';
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      out.set(rel, {
        body, type, cache, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        ...(compressible ? { gz: gzipSync(body, { level: 9 }) } : {}),
      });
    }
  };
  walk('');
  return out;
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  void reply.headers(SECURITY_HEADERS).header('cache-control', a.cache).header('etag', a.etag).header('vary', 'accept-encoding');
  if (req.headers['if-none-match'] === a.etag) return reply.status(304).send();
  const gzip = a.gz && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.type(a.type).send(gzip ? a.gz : a.body);
}

/** Static UI routes at the root (register with app.register). */
export function uiRoutes(opts: { dir?: string } = {}) {
  const dir = opts.dir ?? defaultUiDir();
  return async function registerUi(app: FastifyInstance): Promise<void> {
    let assets = loadUiAssets(dir);
    // Built after the service started (setup running beside it): look again, at most once a second.
    let lookedAt = Date.now();
    const current = () => {
      if (!assets && Date.now() - lookedAt > 1000) { lookedAt = Date.now(); assets = loadUiAssets(dir); }
      return assets;
    };
    const route = { schema: { hide: true }, config: { public: true } };

    app.get('/', route, async (_req, reply) => reply.redirect(`${UI_PREFIX}/`, 302));
    app.get(UI_PREFIX, route, async (_req, reply) => reply.redirect(`${UI_PREFIX}/`, 301));
    app.get(`${UI_PREFIX}/*`, route, async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      const a = current();
      if (!a) {
        throw new ApiError(503, 'unavailable', `the web UI is not built (${path.relative(process.cwd(), dir) || dir} is missing): run npm run setup`);
      }
      const rel = req.params['*'];
      const file = a.get(rel);
      if (file && rel !== 'index.html') return sendAsset(req, reply, file);
      // A missing asset is a 404, not the page (a stale tab asking for an old bundle).
      if (/^assets\//.test(rel) || /\.(js|css|map|png|svg|woff2)$/.test(rel)) {
        throw new ApiError(404, 'not_found', `no UI file ${UI_PREFIX}/${rel}`);
      }
      return sendAsset(req, reply, a.get('index.html')!);
    });
  };
}

/** GET /api/v1/whoami: the token's id, role and name (never the token). */
export function registerWhoamiRoute(api: FastifyInstance): void {
  api.get('/whoami', {
    config: { role: 'viewer' },
    schema: {
      tags: ['tokens'], summary: 'The calling token: id, role, name (never the token itself)',
      response: { 200: Type.Object({ id: Type.String(), role: Type.String(), name: Type.Optional(Type.String()), createdAt: Type.String() }), 401: { $ref: 'Error#' } },
    },
  }, async (req) => {
    if (!req.auth) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    return req.auth;
  });
}
