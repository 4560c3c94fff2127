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

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
