// A small client for the service's REST API (used by the CLI's API commands).
// FABRIC_API_URL (default http://127.0.0.1:8080) and FABRIC_TOKEN (default: the file
// $DATA_DIR/admin-token, DATA_DIR default ./data).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export class ApiClientError extends Error {
  constructor(readonly status: number, message: string, readonly body?: { error?: string; message?: string; path?: string; jobId?: string }) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export interface ApiClientOptions { url: string; token?: string; timeoutMs?: number }

export function clientOptionsFromEnv(env: NodeJS.ProcessEnv): ApiClientOptions {
  const url = (env.FABRIC_API_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let token = env.FABRIC_TOKEN?.trim() || undefined;
  if (!token) {
    const file = path.join(path.resolve(env.DATA_DIR ?? './data'), 'admin-token');
    try { token = readFileSync(file, 'utf8').trim() || undefined; } catch { /* no token: the API answers 401 */ }
  }
  return { url, token };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  async request<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.opts.url}/api/v1${p}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      const c = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (e as Error).name;
      throw new ApiClientError(0, `cannot reach the service at ${this.opts.url} (${cause}); set FABRIC_API_URL`);
    }
    const text = await res.text();
    let json: unknown;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    if (!res.ok) {
      const b = (json ?? {}) as { error?: string; message?: string; path?: string; jobId?: string };
      let msg = b.message ?? `HTTP ${res.status}`;
      if (res.status === 401 && !this.opts.token) msg += ' (no token: set FABRIC_TOKEN or DATA_DIR with an admin-token file)';
      if (b.jobId && !msg.includes(b.jobId)) msg += ` (job ${b.jobId})`;
      throw new ApiClientError(res.status, msg, b);
    }
    return json as T;
  }
}
