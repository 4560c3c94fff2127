// A small client for the service's REST API (used by the CLI's API commands).
// FABRIC_API_URL (default http://127.0.0.1:8080) and FABRIC_TOKEN (default: the file
// $DATA_DIR/admin-token, DATA_DIR default ./data).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The service's error reply; `errors` lists every problem of a rejected input (src/api/errors.ts). */
export interface ApiErrorBody { error?: string; message?: string; path?: string; jobId?: string; errors?: { path?: string; message: string }[] }

export class ApiClientError extends Error {
  constructor(readonly status: number, message: string, readonly body?: ApiErrorBody) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export interface ApiClientOptions { url: string; token?: string; timeoutMs?: number }

/**
 * The service's base URL: FABRIC_API_URL may be given with or without the `/api/v1` the
 * service prints after its address; either way requests (and messages) name it once.
 */
export function serviceBaseUrl(raw: string | undefined): string {
  return (raw?.trim() || 'http://127.0.0.1:8080').replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

export function clientOptionsFromEnv(env: NodeJS.ProcessEnv): ApiClientOptions {
  const url = serviceBaseUrl(env.FABRIC_API_URL);
  let token = env.FABRIC_TOKEN?.trim() || undefined;
  if (!token) {
    const file = path.join(path.resolve(env.DATA_DIR ?? './data'), 'admin-token');
    try { token = readFileSync(file, 'utf8').trim() || undefined; } catch { /* no token: the API answers 401 */ }
  }
  return { url, token };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  get url(): string { return this.opts.url; }

  private async send(method: string, p: string, body: unknown, signal: AbortSignal, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (accept) headers.accept = accept;
    try {
      return await fetch(`${this.opts.url}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (e) {
      const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).name;
      throw new ApiClientError(0, `cannot reach the service at ${this.opts.url} (${cause}); set FABRIC_API_URL`);
    }
  }

  /** A streaming GET (server-sent events); the caller reads `body` and aborts with `signal`. */
  async stream(p: string, signal: AbortSignal): Promise<Response> {
    const res = await this.send('GET', p, undefined, signal, 'text/event-stream');
    if (!res.ok) await this.fail(res, await res.text());
    return res;
  }

  async request<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await this.send(method, p, body, AbortSignal.timeout(this.opts.timeoutMs ?? 30_000));
    const text = await res.text();
    if (!res.ok) return this.fail(res, text);
    try { return (text ? JSON.parse(text) : undefined) as T; } catch { return text as T; }
  }

  private fail(res: Response, text: string): never {
    let json: unknown;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    const b = (json ?? {}) as ApiErrorBody;
    let msg = b.message ?? `HTTP ${res.status}`;
    if (res.status === 401 && !this.opts.token) msg += ' (no token: set FABRIC_TOKEN or DATA_DIR with an admin-token file)';
    if (b.jobId && !msg.includes(b.jobId)) msg += ` (job ${b.jobId})`;
    throw new ApiClientError(res.status, msg, b);
  }
}
