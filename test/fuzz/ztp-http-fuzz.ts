// The ZTP bootstrap endpoint under fuzz, as the service serves it (buildApp: the whole fastify
// app with its hooks, 404 handler and error handler, a real Store in a real Redis), over raw
// TCP on 127.0.0.1 so that methods, request lines, headers and encodings are exactly what the
// fuzz wrote. Between the hostile requests, the real device: a fresh token, a hostile use of
// that very token (HEAD, POST, a wrong serial, a doubled t=...), then the device's GET must
// still get its bootstrap. Used by ztp-http-fuzz.test.ts and bench/fuzz-net.ts.
import net from 'node:net';
import { Writable } from 'node:stream';
import type Redis from 'ioredis';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { Store } from '../../src/store';
import { JobSystem, JobTypes } from '../../src/jobs';
import { TokenStore } from '../../src/api/auth';
import { buildApp, type App } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { RedisLeaseStore } from '../../src/discovery/dhcp';
import { Prng } from './prng';

export const SECRET = 'Fz-Sup3r-secret';
const SERIALS = ['SIM0007', 'WS9'];

export interface ZtpTarget {
  port: number;
  leases: RedisLeaseStore;
  /** every log line the service wrote (pino JSON) */
  logs: string[];
  /** a fresh one-time token for one of the fabric's serials, as the DHCP server would issue it */
  issue(serial: string, n: number): Promise<string>;
  /** the Redis server's pid (to freeze it: SIGSTOP / SIGCONT) */
  redisPid: number;
  stop(): Promise<void>;
}

export async function startZtpTarget(): Promise<ZtpTarget> {
  const t: TestRedis = await startTestRedis();
  const redis: Redis = t.client();
  const store = new Store(redis, { secretKey: t.secretKey });
  await store.createFabric({
    fabric: {
      name: 'z1', credentials: { username: 'admin', password: SECRET }, snmp: { community: 'fz-community' },
      namespaces: { management: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }], loopback: ['10.255.0.0/24'], fabric: ['10.254.0.0/20'], asn: [{ min: 64601, max: 64700 }] },
    },
    devices: [{ name: 'leaf7', serial: 'SIM0007', profile: 'frr-switch', physicalRole: 'leaf', roles: [] }],
    links: [],
  });
  const jobs = new JobSystem({ connection: redis, connect: () => t.client(), lockBackend: store, lockTtlMs: 10_000, types: new JobTypes() });
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { logs.push(...chunk.toString().split('\n').filter(Boolean)); cb(); } });
  const logger = createLogger({ level: 'info', destination: sink });
  const app: App = await buildApp({ store, jobs, tokens: new TokenStore(redis), config: loadConfig({ DATA_DIR: t.dataDir }), logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as net.AddressInfo).port;
  const leases = new RedisLeaseStore(redis);
  return {
    port, leases, logs, redisPid: t.pid,
    issue: (serial, n) => leases.issueToken({ fabric: 'z1', serial, ip: `10.0.0.${10 + (n % 200)}`, mac: `02:00:00:00:01:${(n % 256).toString(16).padStart(2, '0')}`, platform: serial === 'WS9' ? 'junos' : 'frr' }, 60_000),
    stop: async () => { await app.close(); await jobs.close(); await t.stop(); },
  };
}

export interface RawResponse { status?: number; head: string; body: string; outcome: 'response' | 'closed' | 'timeout' }

/** The first final (non-1xx) response in `buf`, once complete (Content-Length or chunked). */
function completeResponse(buf: Buffer): { status: number; head: string; body: string } | undefined {
  let text = buf.toString('latin1');
  for (;;) {
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = text.slice(0, end);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    const rest = text.slice(end + 4);
    if (status >= 100 && status < 200) { text = rest; continue; } // 100 Continue, then the real one
    const len = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (len) return rest.length >= Number(len[1]) ? { status, head, body: rest.slice(0, Number(len[1])) } : undefined;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) return rest.includes('0\r\n\r\n') ? { status, head, body: rest } : undefined;
    return undefined; // no length: complete when the server closes
  }
}

/**
 * Writes `bytes` on a fresh connection and reads the response. A request that may be
 * incomplete (`halfClose`, or no answer within `quietMs`) is followed by our FIN, so the
 * server either answers it (400) or closes; only a server that does neither is a `timeout`.
 */
export function rawRequest(port: number, bytes: Buffer, o: { halfClose?: boolean; quietMs?: number; ms?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (outcome: RawResponse['outcome']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      s.destroy();
      const all = Buffer.concat(chunks);
      const c = completeResponse(all);
      if (c) return resolve({ ...c, outcome: 'response' });
      const text = all.toString('latin1');
      const finals = [...text.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1])).filter((n) => n >= 200);
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: finals[0], head, body: rest.join('\r\n\r\n'), outcome: finals.length ? 'response' : outcome });
    };
    const timer = setTimeout(() => finish('timeout'), o.ms ?? 5000);
    const quiet = setTimeout(() => { if (!done) s.end(); }, o.quietMs ?? 300);
    s.on('data', (d: Buffer) => { chunks.push(d); if (completeResponse(Buffer.concat(chunks))) finish('response'); });
    s.on('error', () => finish('closed'));
    s.on('close', () => finish('closed'));
    s.on('connect', () => (o.halfClose ? s.end(bytes) : s.write(bytes)));
  });
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'G ET', 'PROPFIND', 'M'.repeat(100), 'GET\u0000'];
const SERIAL_VARIANTS = (r: Prng): string => r.pick([
  'SIM0007', 'WS9', 'sim0007', 'SIM0007/', 'SIM0007/x', '', '..', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%2f..%2fetc', '%00', 'SIM0007%00', '%zz', '%', '%ff%fe',
  '\u00e9t\u00e9', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'a'.repeat(99), 'a'.repeat(100), 'a'.repeat(101), 'b'.repeat(5000),
  'x;y', 'x y', 'x%20y', 'x\ty', '<script>', '%3Cscript%3E', '${jndi:ldap://x}', 'SIM0007%0d%0aX-Injected:1', r.text(r.int(1, 30), 'ABCXYZ0123456789-._~!$&\'()*+,;=:@'),
]);
const SAME_URL = new Set(['/ztp/', '/%7atp/', 'http://127.0.0.1/ztp/']);
const PREFIXES = ['/ztp/', '/ztp/', '/ztp/', '/ZTP/', '//ztp/', '/ztp//', '/./ztp/', '/ztp/../ztp/', '/%7atp/', '/ztp%2f', 'http://127.0.0.1/ztp/', '/api/v1/../../ztp/'];
// `live` only where the request must not be served; `other` (a random token) where it may
// look like a valid fetch (trailing junk that the HTTP parser tolerates, extra parameters)
const QUERY = (r: Prng, live: string, other: string): string => r.pick([
  '', '?t=', `?t=${other}`, `?t=${live}&t=${live}`, `?t[]=${live}`, `?t[a]=${live}`, '?t', '?=x', '?t=%zz',
  `?t=${live.toUpperCase()}`, `?t=${other} `, `?t=${live}%00`, `?${'a=1&'.repeat(2000)}t=${other}`, `?t=${'f'.repeat(10000)}`, '?t=../../etc', `?T=${live}`, '#frag', `?t=${other}#x`,
]);
const HEADERS = (r: Prng): string[] => {
  const h: string[] = [];
  if (r.chance(0.9)) h.push('Host: 127.0.0.1');
  if (r.chance(0.05)) h.push('Host: a', 'Host: b');
  const n = r.chance(0.05) ? r.int(100, 300) : r.int(0, 4);
  for (let i = 0; i < n; i++) {
    h.push(r.pick([
      `X-${r.text(r.int(1, 12), 'abcdefghijklmnop-')}: ${r.text(r.int(0, 40), 'abc xyz0123;=,"')}`,
      'Content-Length: abc', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked',
      'Expect: 100-continue', 'Connection: Upgrade', 'Upgrade: websocket', 'Content-Type: application/json', 'Content-Type: text/plain; charset=utf-7',
      'Accept-Encoding: gzip, deflate, br', 'Authorization: Bearer fzt_000000000000_AAAA', 'Cookie: a=b', 'X-Forwarded-For: 10.0.0.1, 1.2.3.4', 'Range: bytes=0-1',
      `X-Big: ${'v'.repeat(r.pick([100, 8000, 20000]))}`, `Bad Header: x`, `X-Ctl: a\u0001b`, `X-Utf8: ${'\u00e9'}`, ': empty-name', 'X-No-Colon',
    ]));
  }
  return h;
};
const BODIES = (r: Prng): string => r.pick(['', '', '', '{', '{"t":"x"}', '0\r\n\r\n', 'zz\r\nxx\r\n', r.bytes(r.int(1, 200)).toString('latin1')]);

export const ZTP_MUTATIONS = ['path', 'query', 'method', 'headers', 'line', 'truncated', 'body'] as const;

/** One hostile request around the live token `live` (of SERIALS[0] or [1]). */
export function hostileRequest(r: Prng, m: (typeof ZTP_MUTATIONS)[number], live: string, liveSerial: string): Buffer {
  const other = r.bytes(16).toString('hex');
  let method = 'GET';
  let target = `/ztp/${liveSerial}?t=${other}`;
  let version = 'HTTP/1.1';
  let headers = ['Host: 127.0.0.1'];
  let body = '';
  let eol = '\r\n';
  switch (m) {
    case 'path': {
      const prefix = r.pick(PREFIXES);
      const serial = SERIAL_VARIANTS(r);
      // other spellings of the device's own URL are its URL (a percent-encoded letter, the
      // absolute form): they get a random token, the rest the live one
      const same = serial === liveSerial && SAME_URL.has(prefix);
      target = `${prefix}${serial}${r.chance(0.5) ? `?t=${same ? other : live}` : ''}`;
      break;
    }
    case 'query': target = `/ztp/${r.chance(0.5) ? liveSerial : SERIAL_VARIANTS(r)}${QUERY(r, live, other)}`; break;
    case 'method': method = r.pick(METHODS.filter((x) => x !== 'GET')); target = `/ztp/${liveSerial}?t=${live}`; break;
    case 'headers': headers = HEADERS(r); target = r.chance(0.3) ? `/ztp/${liveSerial}?t=${live}` : target; method = r.chance(0.3) ? 'POST' : 'GET'; if (method === 'GET') target = `/ztp/${liveSerial}?t=${other}`; break;
    case 'line':
      version = r.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x', '', 'http/1.1', 'HTTP/1.1 extra']);
      eol = r.pick(['\r\n', '\n', '\r']);
      if (r.chance(0.2)) target = '*';
      break;
    case 'body': method = r.pick(['POST', 'PUT', 'GET']); headers = [...headers, ...HEADERS(r)]; body = BODIES(r); break;
    default: break;
  }
  const text = `${method} ${target}${version ? ` ${version}` : ''}${eol}${headers.map((h) => h + eol).join('')}${eol}${body}`;
  const bytes = Buffer.from(text, 'latin1');
  return m === 'truncated' ? bytes.subarray(0, r.int(1, bytes.length - 1)) : bytes;
}

export interface ZtpFuzzResult {
  cases: number;
  seed: number;
  statuses: Record<string, number>;
  perMutation: Record<string, Record<string, number>>;
  fiveXX: string[];
  /** requests the server closed without an answer (Node does so for CONNECT without a handler) */
  closedWithoutAnswer: string[];
  timeouts: number;
  /** the real device: bootstraps fetched after a hostile use of its token, all 200 with the secret */
  deviceFetches: number;
  deviceOk: number;
  /** hostile uses of a live token that were served (must be 0: only the device's GET gets it) */
  tokenLeaks: string[];
  healthyAfter: boolean;
  /** lines from the ZTP route's limiter, of which summaries */
  ztpLines: number;
  ztpSummaries: number;
  /** fastify's per-request access lines (app.ts, outside the ZTP route) */
  accessLines: number;
  secretInLogs: boolean;
  /** log lines that carry a URL with something token-shaped in it (the app's access log) */
  tokenUrlLines: string[];
  ms: number;
}

export async function runZtpFuzz(o: { cases: number; seed: number; concurrency?: number; target?: ZtpTarget }): Promise<ZtpFuzzResult> {
  const target = o.target ?? await startZtpTarget();
  const r = new Prng(o.seed);
  const res: ZtpFuzzResult = {
    cases: o.cases, seed: o.seed, statuses: {}, perMutation: {}, fiveXX: [], closedWithoutAnswer: [], timeouts: 0, deviceFetches: 0, deviceOk: 0, tokenLeaks: [],
    healthyAfter: false, ztpLines: 0, ztpSummaries: 0, accessLines: 0, secretInLogs: false, tokenUrlLines: [], ms: 0,
  };
  const t0 = Date.now();
  const logStart = target.logs.length;
  try {
    let n = 0;
    // a batch: the device's fresh token, `concurrency` hostile requests (some using that token), then the device
    const batch = o.concurrency ?? 8;
    while (n < o.cases) {
      const serial = r.pick(SERIALS);
      const live = await target.issue(serial, n);
      const reqs: { m: string; bytes: Buffer }[] = [];
      for (let i = 0; i < batch && n < o.cases; i++, n++) {
        const m = ZTP_MUTATIONS[n % ZTP_MUTATIONS.length];
        reqs.push({ m, bytes: hostileRequest(r, m, live, serial) });
      }
      const out = await Promise.all(reqs.map((q) => rawRequest(target.port, q.bytes, { halfClose: q.m === 'truncated' })));
      out.forEach((x, i) => {
        const key = x.outcome === 'response' ? String(x.status) : x.outcome;
        res.statuses[key] = (res.statuses[key] ?? 0) + 1;
        const pm = (res.perMutation[reqs[i].m] ??= {});
        pm[key] = (pm[key] ?? 0) + 1;
        if (x.outcome === 'timeout') res.timeouts++;
        if (x.outcome === 'closed' && reqs[i].m !== 'truncated') res.closedWithoutAnswer.push(reqs[i].bytes.toString('latin1').slice(0, 80));
        if (x.status !== undefined && x.status >= 500) res.fiveXX.push(`${x.status} for ${JSON.stringify(reqs[i].bytes.toString('latin1').slice(0, 200))}`);
        if (x.status === 200) res.tokenLeaks.push(JSON.stringify(reqs[i].bytes.toString('latin1').slice(0, 200)));
      });
      // the real device, after all that
      const dev = await rawRequest(target.port, Buffer.from(`GET /ztp/${serial}?t=${live} HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nConnection: close\r\n\r\n`));
      res.deviceFetches++;
      const okBody = serial === 'WS9' ? dev.body.includes('encrypted-password "$6$') : dev.body.includes(`"password": "${SECRET}"`) || dev.body.includes(`"password":"${SECRET}"`);
      if (dev.status === 200 && okBody) res.deviceOk++;
    }
    const h = await rawRequest(target.port, Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    res.healthyAfter = h.status === 200;
  } finally {
    res.ms = Date.now() - t0;
    const lines = target.logs.slice(logStart);
    for (const l of lines) {
      if (l.includes('"component":"ztp"')) {
        res.ztpLines++;
        if (l.includes('"suppressed":')) res.ztpSummaries++;
      }
      if (l.includes('"msg":"incoming request"') || l.includes('"msg":"request completed"')) res.accessLines++;
    }
    res.secretInLogs = lines.some((l) => l.includes(SECRET) || l.includes('fz-community'));
    res.tokenUrlLines = lines.filter((l) => /"url":"[^"]*t=[0-9a-f]{32}/.test(l));
    if (!o.target) await target.stop();
  }
  return res;
}
