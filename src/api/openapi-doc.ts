// The service's OpenAPI document without Redis or workers, for build-time tools (the CLI's
// command table: scripts/cli-table.js). buildApp only registers routes; nothing runs a
// request, so inert stand-ins for the store, jobs and tokens are enough.
import { buildApp } from './app';
import { loadConfig } from '../config';
import { createLogger } from '../log';

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const idle = { status: 'ready', on: () => undefined, defineCommand: () => undefined };
  const deps = {
    store: { redis: idle, ping: async () => true }, jobs: { events: {} }, tokens: {},
    config: loadConfig({ DATA_DIR: '/nonexistent-openapi-doc' }), logger: createLogger({ level: 'silent' }),
    rateLimits: { perMinute: 0, tokensPerMinute: 0 },
  };
  const app = await buildApp(deps as never);
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
