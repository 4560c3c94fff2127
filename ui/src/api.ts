// The UI's only way to the service: the REST API with the session's bearer token in the
// Authorization header (never a URL). A 401 ends the session and goes back to sign-in.
// One generic `call` under typed helpers, so a new endpoint (day-2 actions: maintenance,
// upgrade plans, RMA) is one line here and an entry in actions.ts.
import type {
  ConfigCommit, Device, DeviceDetail, DriftItem, Fabric, FabricEvent, Image, Job, JobSummary, Link, NodeProfile,
  Role, ServiceChange, ServiceKind, UpgradePlan, Whoami,
} from './types';
import { clearToken, getToken } from './session';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string, readonly jobId?: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
/** What a 401 does (the app sends the user to the sign-in form). */
export function setUnauthorizedHandler(fn: () => void): void { onUnauthorized = fn; }

const enc = encodeURIComponent;

export async function call<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; token?: string } = {}): Promise<T> {
  const token = opts.token ?? getToken();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'the service does not answer (network error)');
  }
  const text = await res.text();
  let json: unknown;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string; path?: string; jobId?: string };
    if (res.status === 401 && !opts.token) { clearToken(); onUnauthorized(); }
    throw new ApiError(res.status, e.error ?? 'error', e.message ?? `${res.status} ${res.statusText}`, e.path, e.jobId);
  }
  return json as T;
}

type Items<T> = { items: T[] };
const get = <T>(path: string, signal?: AbortSignal) => call<T>('GET', path, undefined, { signal });

export const api = {
  whoami: (token?: string) => call<Whoami>('GET', '/whoami', undefined, { token }),

  fabrics: () => get<Items<Fabric>>('/fabrics').then((r) => r.items),
  fabric: (f: string) => get<Fabric>(`/fabrics/${enc(f)}`),
  devices: (f: string, signal?: AbortSignal) => get<Items<Device>>(`/fabrics/${enc(f)}/devices`, signal).then((r) => r.items),
  device: (f: string, d: string) => get<DeviceDetail>(`/fabrics/${enc(f)}/devices/${enc(d)}`),
  links: (f: string, signal?: AbortSignal) => get<Items<Link>>(`/fabrics/${enc(f)}/links`, signal).then((r) => r.items),
  setRoles: (f: string, d: string, body: { physicalRole: string; roles: string[] }) => call<Device>('PUT', `/fabrics/${enc(f)}/devices/${enc(d)}/roles`, body),
  config: (f: string, d: string) => get<{ platform: string; files: Record<string, string> }>(`/fabrics/${enc(f)}/devices/${enc(d)}/config`),
  history: (f: string, d: string, limit = 10) => get<Items<ConfigCommit>>(`/fabrics/${enc(f)}/devices/${enc(d)}/config/history?limit=${limit}`).then((r) => r.items),
  rollback: (f: string, d: string, version: number) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/devices/${enc(d)}/config/rollback`, { version }),
  drift: (f: string) => get<Items<DriftItem>>(`/fabrics/${enc(f)}/drift`).then((r) => r.items),
  events: (f: string, q: { since?: string; limit?: number } = {}) => {
    const qs = new URLSearchParams();
    if (q.since) qs.set('since', q.since);
    if (q.limit) qs.set('limit', String(q.limit));
    return get<{ items: FabricEvent[]; next?: string }>(`/fabrics/${enc(f)}/events${qs.size ? `?${qs}` : ''}`);
  },
  profile: (name: string) => get<NodeProfile>(`/node-profiles/${enc(name)}`),

  autoconfigure: (f: string, body: { dryRun?: boolean; devices?: string[] }) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/autoconfigure`, body),
  onboard: (f: string, body: Record<string, unknown>) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/onboard`, body),
  fabricJobs: (f: string, limit = 20) => get<Items<JobSummary>>(`/fabrics/${enc(f)}/jobs?limit=${limit}`).then((r) => r.items.map((j) => ({ ...j, fabric: f }))),
  job: (id: string, logLimit = 1000) => get<Job>(`/jobs/${enc(id)}?logLimit=${logLimit}`),
  cancelJob: (id: string) => call<Job>('POST', `/jobs/${enc(id)}/cancel`),

  services: <T>(f: string, kind: ServiceKind) => get<Items<T>>(`/fabrics/${enc(f)}/${kind}`).then((r) => r.items),
  createService: (f: string, kind: ServiceKind, body: unknown) => call<ServiceChange>('POST', `/fabrics/${enc(f)}/${kind}`, body),
  deleteService: (f: string, kind: ServiceKind, name: string) => call<ServiceChange>('DELETE', `/fabrics/${enc(f)}/${kind}/${enc(name)}`),

  // Day 2 (docs/api.md "Day 2"): maintenance and the rolling upgrade are jobs; the dry run of
  // an upgrade answers its plan. RMA is offered only when the service's OpenAPI has it (capabilities.ts).
  openapi: () => call<unknown>('GET', '/openapi.json'),
  images: () => get<Items<Image>>('/images').then((r) => r.items),
  maintenance: (f: string, d: string, enabled: boolean) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/devices/${enc(d)}/maintenance`, { enabled }),
  upgradePlan: (f: string, body: UpgradeRequest) => call<UpgradePlan>('POST', `/fabrics/${enc(f)}/upgrade`, { ...body, dryRun: true }),
  upgrade: (f: string, body: UpgradeRequest) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/upgrade`, body),
  rma: (f: string, d: string, serial: string) => call<{ jobId: string }>('POST', `/fabrics/${enc(f)}/devices/${enc(d)}/rma`, { serial }),
};

export interface UpgradeRequest { image: string; devices?: string[]; maxParallel?: number }

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
/** Whether a token of role `have` may call a route that needs `need` (the API's rule). */
export const roleAllows = (have: Role | undefined, need: Role): boolean => have !== undefined && RANK[have] >= RANK[need];
