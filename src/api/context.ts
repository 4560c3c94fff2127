// What route modules get: the service's parts, and who is asking. Its own module so route
// files never import the app that registers them (no import cycle).
import type { FastifyRequest } from 'fastify';
import type { ServiceConfig } from '../config';
import type { Logger } from '../log';
import type { JobSystem } from '../jobs/engine';
import type { Store } from '../store';
import type { Role, TokenInfo, TokenStore } from './auth';
import type { Metrics } from './metrics';
import type { RateLimits } from './security';

declare module 'fastify' {
  interface FastifyRequest { auth?: TokenInfo }
  interface FastifyContextConfig { role?: Role; public?: boolean }
}

export interface ApiDeps {
  store: Store;
  jobs: JobSystem;
  tokens: TokenStore;
  config: ServiceConfig;
  logger: Logger;
  /** Per-token request limits (default: config's, else 3,000/min and 20 token creations/min). */
  rateLimits?: RateLimits;
}

export interface ApiContext extends ApiDeps {
  metrics: Metrics;
}

/** The actor recorded in events: the token id and role, never the token. */
export function actorOf(req: FastifyRequest): { actor: string } {
  return { actor: req.auth ? `token:${req.auth.id}(${req.auth.role})` : 'system' };
}
