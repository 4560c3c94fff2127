// Every error leaves the API as {error, message, path?} (409 for a busy fabric adds jobId).
// Validation errors name the JSON path of the bad field; nothing ever carries a stack trace.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FabricError } from '../domain/errors';
import { JobConflictError, JobFinishedError, JobNotFoundError } from '../jobs/engine';
import { StoreError } from '../store/errors';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string, readonly jobId?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const badRequest = (message: string, path?: string) => new ApiError(400, 'bad_request', message, path);

export interface ErrorBody { error: string; message: string; path?: string; jobId?: string; errors?: { path?: string; message: string }[] }

interface AjvError { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> }

/** `/devices/0/name` -> `devices[0].name` (the form FabricError paths use). */
export function jsonPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Inputs are small (BODY_LIMIT); a list longer than this says enough. */
const MAX_LISTED = 50;

function describe(e: AjvError, context: string | undefined): { path?: string; message: string } {
  let extra: string | undefined;
  let why = e.message ?? 'is not valid';
  if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
    extra = e.params.missingProperty;
    why = 'is required';
  } else if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
    extra = e.params.additionalProperty;
    why = 'is not a known field';
  } else if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) {
    why = `must be one of ${(e.params!.allowedValues as unknown[]).join(', ')}`;
  }
  let path = jsonPath(e.instancePath ?? '', extra);
  const ctxName = context === 'querystring' ? 'query' : context;
  if (ctxName && ctxName !== 'body') path = path ? `${ctxName}.${path}` : ctxName;
  return { ...(path ? { path } : {}), message: `${path || context || 'body'}: ${why}` };
}

/**
 * The first problem as `message`/`path` (as before), and every problem under `errors` when
 * there are several, so a client can list them all. `anyOf` adds one error per branch plus
 * its own: only the anyOf's own line is kept for a path whose branches all failed.
 */
function fromValidation(errs: AjvError[], context: string | undefined): ErrorBody {
  const anyOfPaths = new Set(errs.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath ?? ''));
  const kept = errs.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf' || !anyOfPaths.has(e.instancePath ?? ''));
  const first = describe(errs[0], context);
  const all: { path?: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const e of kept) {
    const d = describe(e, context);
    if (seen.has(d.message)) continue;
    seen.add(d.message);
    all.push(d);
    if (all.length >= MAX_LISTED) break;
  }
  return { error: 'bad_request', message: first.message, ...(first.path ? { path: first.path } : {}), ...(all.length > 1 ? { errors: all } : {}) };
}

const CLIENT_CODES = new Map<number, string>([
  [404, 'not_found'], [405, 'method_not_allowed'], [408, 'timeout'], [413, 'too_large'], [414, 'uri_too_long'],
  [415, 'unsupported_media_type'], [429, 'too_many_requests'], [431, 'headers_too_large'],
]);

/** The `error` word of a 4xx status (one shape for every error the service sends). */
export function clientErrorCode(status: number): string {
  return CLIENT_CODES.get(status) ?? 'bad_request';
}

/** Redis went away under a request (closed connection, no offline queue, command timeout). */
function redisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string } | undefined;
  if (!e) return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code)) return true;
  const m = e.message ?? '';
  return m === 'Connection is closed.' || m.startsWith("Stream isn't writeable") || m === 'Command timed out' || m.startsWith('Reached the max retries per request');
}

export function toErrorReply(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (redisUnavailable(err)) return { status: 503, body: { error: 'unavailable', message: 'redis is not reachable; retry when it is back' }, internal: false };
  if (err instanceof ApiError) {
    return { status: err.status, body: { error: err.code, message: err.message, ...(err.path ? { path: err.path } : {}), ...(err.jobId ? { jobId: err.jobId } : {}) }, internal: false };
  }
  if (err instanceof FabricError) {
    const all = (err.errors ?? []).slice(0, MAX_LISTED).map((e) => ({ ...(e.path ? { path: e.path } : {}), message: e.message }));
    return { status: 400, body: { error: 'bad_request', message: err.message, ...(err.path ? { path: err.path } : {}), ...(all.length > 1 ? { errors: all } : {}) }, internal: false };
  }
  if (err instanceof StoreError) {
    const map = { not_found: 404, conflict: 409, locked: 409, invalid: 400, contention: 503 } as const;
    const code = { not_found: 'not_found', conflict: 'conflict', locked: 'conflict', invalid: 'bad_request', contention: 'unavailable' } as const;
    return {
      status: map[err.code],
      body: { error: code[err.code], message: err.message, ...(err.path ? { path: err.path } : {}), ...(err.jobId ? { jobId: err.jobId } : {}) },
      internal: false,
    };
  }
  if (err instanceof JobConflictError) {
    return { status: 409, body: { error: 'conflict', message: err.message, jobId: err.jobId }, internal: false };
  }
  if (err instanceof JobNotFoundError) return { status: 404, body: { error: 'not_found', message: err.message }, internal: false };
  if (err instanceof JobFinishedError) return { status: 409, body: { error: 'conflict', message: err.message }, internal: false };
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe && Array.isArray(fe.validation) && fe.validation.length) {
    return { status: 400, body: fromValidation(fe.validation, fe.validationContext), internal: false };
  }
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own client errors (bad JSON, wrong content type, body too large)
    return { status: fe.statusCode, body: { error: clientErrorCode(fe.statusCode), message: (fe.message || 'bad request').split('\n')[0] }, internal: false };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error (see the service log)' }, internal: true };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body, internal } = toErrorReply(err);
  if (internal) req.log.error({ err }, 'request failed');
  else if (status >= 500) req.log.warn({ err: (err as Error).message }, 'request failed');
  void reply.status(status).send(body);
}
