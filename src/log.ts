// Structured logs (pino). Secrets never reach a log line: authorization headers, tokens,
// credentials and SNMP keys are redacted wherever they appear in a logged object.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  '*.*.password',
  'credentials',
  '*.credentials',
  '*.*.credentials',
  'secret',
  '*.secret',
  'community',
  '*.community',
  '*.*.community',
  'authKey',
  'privKey',
  '*.authKey',
  '*.privKey',
  '*.*.authKey',
  '*.*.privKey',
  '*.v3',
  '*.*.v3',
];

/** A URL as a log line may show it: the values of token-like query parameters (the ZTP `t`) replaced. */
export function redactUrl(url: string): string {
  return url.replace(/([?&;](?:t|token|access_token)=)[^&;#]*/gi, '$1[redacted]');
}

interface LoggedRequest { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }

/**
 * The request as logged (fastify's fields), URL redacted: a request that fails before routing
 * (a malformed path under /ztp) is logged with its URL, and the ZTP URL carries a one-time token.
 */
function requestSerializer(r: LoggedRequest): Record<string, unknown> {
  return { method: r.method, url: r.url === undefined ? undefined : redactUrl(r.url), host: r.host ?? r.hostname, remoteAddress: r.ip, remotePort: r.socket?.remotePort };
}

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: requestSerializer },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
