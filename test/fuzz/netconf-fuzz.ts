// The NETCONF client against a hostile device: a seeded generator of hostile hellos and
// replies (garbage framing, chunk sizes beyond limits, huge, endless and dripping replies,
// wrong, missing and duplicate message-ids, hellos that never end, bad XML) played by one
// hostile SSH server on 127.0.0.1 (test/helpers/netconfd-bad.ts: the client's username picks
// the case), and a runner that checks each case ends in time with a result or a typed
// NetconfError naming the device, with no unhandled rejection, no socket left behind and
// bounded memory. Used by netconf-fuzz.test.ts (fixed seed) and bench/fuzz-net.ts.
import { encode } from '../../src/netconf/framing';
import { NetconfClient } from '../../src/netconf/client';
import { NetconfError } from '../../src/netconf/errors';
import { HELLO, reply, startHostileServer, type HostileScript, type HostileSession } from '../helpers/netconfd-bad';
import { Prng } from './prng';

/** the client's limits in the fuzz: small, so limit cases are cheap */
export const LIMITS = { maxHelloSize: 16 * 1024, maxMessageSize: 256 * 1024, rpcTimeoutMs: 800, connectTimeoutMs: 3000 };

export const NETCONF_MUTATIONS = [
  'hello-bitflip', 'hello-truncated', 'hello-garbage', 'hello-huge', 'hello-endless', 'hello-session-id', 'hello-caps', 'hello-root',
  'hello-xml', 'hello-chunked', 'reply-bitflip', 'reply-truncated', 'reply-wrong-id', 'reply-duplicate', 'reply-chunk-header',
  'reply-huge', 'reply-endless', 'reply-eom-in-chunked', 'reply-xml', 'reply-rpc-error', 'reply-then-garbage', 'reply-notifications',
  'hello-slow', 'reply-drip',
] as const;
export type NetconfMutation = (typeof NETCONF_MUTATIONS)[number];

/** the rare slow cases (they cost a timeout each): one in 40 */
const SLOW = new Set<NetconfMutation>(['hello-slow', 'reply-drip', 'reply-notifications']);

export interface NetconfCase {
  n: number;
  mutation: NetconfMutation;
  script: HostileScript;
  /** error codes (or class names) this case must end with, when it is deterministic */
  want?: string[];
}

const helloWith = (inner: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">${inner}</hello>`;
const CAPS = '<capabilities><capability>urn:ietf:params:netconf:base:1.0</capability><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>';

function flip(r: Prng, b: Buffer, n: number): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < n; i++) out[r.int(0, out.length - 1)] ^= 1 << r.int(0, 7);
  return out;
}

/** after the bytes: end the connection (most), or leave it hanging (the client's timeout) */
async function then(r: Prng, s: HostileSession): Promise<void> {
  if (r.chance(0.95)) s.end();
}

const XML_NASTIES = [
  '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rpc-reply/>', '<rpc-reply>&#x110000;</rpc-reply>', '<rpc-reply>&bogus;</rpc-reply>',
  '<rpc-reply><a></rpc-reply>', '<rpc-reply', '<?xml version="1.0"?>', '', ' ', '<a/><b/>', '\u0000\u0001<rpc-reply/>',
  `${'<a>'.repeat(20000)}${'</a>'.repeat(20000)}`, '<rpc-reply xmlns:x="urn:x" x:message-id="1"/>', '<x:rpc-reply xmlns:x="urn:y"/>',
];

function caseScript(r: Prng, m: NetconfMutation): { script: HostileScript; want?: string[] } {
  const normal = encode(HELLO, 'eom');
  const hello = (b: Buffer | string, after?: (s: HostileSession) => Promise<void>): HostileScript['hello'] => async (s) => {
    await s.write(b);
    if (after) await after(s);
  };
  // a well-behaved answer, for cases that only break the hello
  const answer: HostileScript['rpc'] = async ({ id }, s) => { await s.write(encode(reply(id), 'chunked')); };
  switch (m) {
    case 'hello-bitflip': return { script: { hello: hello(flip(r, normal, r.int(1, 6)), (s) => (r.chance(0.5) ? then(r, s) : Promise.resolve())), rpc: answer } };
    case 'hello-truncated': return { script: { hello: hello(normal.subarray(0, r.int(0, normal.length - 1)), (s) => then(r, s)) } };
    case 'hello-garbage': {
      const g = r.bytes(r.int(1, 3000));
      return { script: { hello: hello(r.chance(0.5) ? Buffer.concat([g, Buffer.from(']]>]]>')]) : g, (s) => then(r, s)) } };
    }
    case 'hello-huge':
      return { script: { hello: hello(encode(helloWith(`${CAPS.replace('</capabilities>', `<capability>urn:x:${'p'.repeat(LIMITS.maxHelloSize)}</capability></capabilities>`)}<session-id>1</session-id>`), 'eom')) }, want: ['HELLO'] };
    case 'hello-endless':
      return { script: { hello: (s) => s.flood(Buffer.from(`<capability>urn:x:${'e'.repeat(r.int(10, 4000))}</capability>`), 64 * 1024 * 1024) }, want: ['HELLO'] };
    case 'hello-session-id': {
      const sid = r.pick(['', '<session-id></session-id>', '<session-id>0</session-id>', '<session-id>-1</session-id>', '<session-id>abc</session-id>', '<session-id>1e3</session-id>', '<session-id> 7 </session-id>', '<session-id>7</session-id><session-id>8</session-id>']);
      return { script: { hello: hello(encode(helloWith(`${CAPS}${sid}`), 'eom')), rpc: answer } };
    }
    case 'hello-caps': {
      const caps = r.pick(['', '<capabilities/>', '<capabilities><capability>urn:x</capability></capabilities>', '<capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>',
        `<capabilities>${'<capability>urn:ietf:params:netconf:base:1.0</capability>'.repeat(200)}</capabilities>`, '<capabilities><capability></capability></capabilities>']);
      const readAs = caps.includes('base:1.1') ? 'chunked' : 'eom';
      return { script: { hello: hello(encode(helloWith(`${caps}<session-id>3</session-id>`), 'eom')), readAs, rpc: async ({ id }, s) => { await s.write(encode(reply(id), readAs)); } } };
    }
    case 'hello-root': {
      const v = r.pick([encode(reply('1'), 'eom'), Buffer.concat([normal, normal]), Buffer.concat([normal, r.bytes(r.int(1, 50))]), encode('<notification/>', 'eom')]);
      return { script: { hello: hello(v), rpc: answer } };
    }
    case 'hello-xml': return { script: { hello: hello(encode(r.pick(XML_NASTIES), 'eom'), (s) => then(r, s)) } };
    case 'hello-chunked': return { script: { hello: hello(encode(HELLO, 'chunked'), (s) => then(r, s)) } };
    case 'hello-slow':
      // a hello dripping a byte at a time, slower than the connect timeout
      return { script: { hello: async (s) => { for (const b of normal) { if (s.closed || !(await s.write(Buffer.from([b])))) return; await new Promise((res) => setTimeout(res, 100)); } } }, want: ['NetconfConnectError'] };
    default:
      return { script: { rpc: replyCase(r, m) }, want: wantOf(m) };
  }
}

function wantOf(m: NetconfMutation): string[] | undefined {
  switch (m) {
    case 'reply-wrong-id': return ['UNKNOWN_MESSAGE_ID'];
    case 'reply-huge': return ['MESSAGE_TOO_LARGE', 'CHUNK_TOO_LARGE'];
    // tiny chunks cost the SSH link more than the limit: on a busy machine the timeout may come first
    case 'reply-endless': return ['MESSAGE_TOO_LARGE', 'NetconfTimeoutError'];
    case 'reply-eom-in-chunked': return ['GARBAGE'];
    case 'reply-notifications': case 'reply-drip': return ['NetconfTimeoutError'];
    default: return undefined;
  }
}

function replyCase(r: Prng, m: NetconfMutation): HostileScript['rpc'] {
  return async ({ id, n }, s) => {
    const good = reply(id);
    const wire = encode(good, 'chunked', { maxChunkSize: r.int(1, 400) });
    switch (m) {
      case 'reply-bitflip': await s.write(flip(r, wire, r.int(1, 4))); return then(r, s);
      case 'reply-truncated': await s.write(wire.subarray(0, r.int(0, wire.length - 1))); return then(r, s);
      case 'reply-wrong-id': {
        const other = r.pick(['0', '999999', '', 'x'.repeat(5000), `${id}0`, '-1', '1.0', `${id} `]);
        await s.write(encode(good.replace(`message-id="${id}"`, `message-id="${other}"`), 'chunked'));
        return then(r, s);
      }
      case 'reply-duplicate':
        if (n > 1) return; // the client may send a second RPC before it reads the duplicate
        await s.write(Buffer.concat([encode(good, 'chunked'), encode(r.chance(0.5) ? good : reply(id, '<ok/>'), 'chunked')]));
        return;
      case 'reply-chunk-header': {
        const body = Buffer.from(good);
        const header = r.pick([
          '\n#0\n', '\n#01\n', `\n#${LIMITS.maxMessageSize + 1}\n`, '\n#99999999999\n', '\n#4294967296\n', '\n#12a\n', '\n12\n', '#12\n', '\n#12', '\n#-5\n', `\n#${body.length + r.int(1, 100)}\n`, `\n#${Math.max(1, body.length - r.int(1, 50))}\n`,
        ]);
        await s.write(Buffer.concat([Buffer.from(header), body, Buffer.from('\n##\n')]));
        return then(r, s);
      }
      case 'reply-huge': await s.write(encode(reply(id, `<data>${'h'.repeat(LIMITS.maxMessageSize + r.int(1, 100000))}</data>`), 'chunked', { maxChunkSize: r.pick([4096, 65536, 1024 * 1024]) })); return;
      case 'reply-endless': {
        // chunks of 1 byte to 64 kB (the tiny ones cost the parser most per byte), never the end marker
        const size = r.pick([1, 100, 4096, 65536]);
        const chunk = `\n#${size}\n${'z'.repeat(size)}`;
        await s.write(`\n#${good.length - 12}\n${good.slice(0, -12)}`);
        await s.flood(Buffer.from(chunk.repeat(Math.max(1, Math.floor(65536 / chunk.length)))), 64 * 1024 * 1024);
        return;
      }
      case 'reply-eom-in-chunked': await s.write(encode(good, 'eom')); return then(r, s);
      case 'reply-xml': await s.write(encode(r.pick(XML_NASTIES).replace('<rpc-reply', `<rpc-reply message-id="${id}"`) || ' ', 'chunked')); return then(r, s);
      case 'reply-rpc-error': {
        const msg = r.chance(0.5) ? 'e'.repeat(r.int(1000, 100000)) : r.text(r.int(0, 200), 'abc <>&;\n"\'');
        const err = `<rpc-error><error-type>application</error-type><error-tag>${r.pick(['invalid-value', '', 'x'.repeat(300)])}</error-tag><error-severity>${r.pick(['error', 'warning', 'bogus'])}</error-severity><error-message>${msg.replace(/[<&]/g, '')}</error-message></rpc-error>`;
        await s.write(encode(reply(id, err.repeat(r.int(1, 20))), 'chunked'));
        return;
      }
      case 'reply-then-garbage': await s.write(Buffer.concat([wire, r.bytes(r.int(1, 200))])); return;
      case 'reply-notifications':
        await s.flood(encode('<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>x</eventTime></notification>', 'chunked'), 64 * 1024 * 1024);
        return;
      case 'reply-drip':
        for (const b of wire) { if (s.closed || !(await s.write(Buffer.from([b])))) return; await new Promise((res) => setTimeout(res, 50)); }
        return;
      default:
        throw new Error(`unknown mutation ${m}`);
    }
  };
}

export function* netconfCases(seed: number, count: number): Generator<NetconfCase> {
  const r = new Prng(seed);
  const fast = NETCONF_MUTATIONS.filter((m) => !SLOW.has(m));
  const slow = NETCONF_MUTATIONS.filter((m) => SLOW.has(m));
  for (let n = 0; n < count; n++) {
    // every mutation early (so a short run has them all), then the slow ones at one in 40
    const m = n < NETCONF_MUTATIONS.length ? NETCONF_MUTATIONS[n] : n % 40 === 0 ? slow[(n / 40) % slow.length] : fast[n % fast.length];
    const c = caseScript(new Prng(r.u32()), m);
    yield { n, mutation: m, ...c };
  }
}

export interface NetconfFuzzResult {
  cases: number;
  seed: number;
  outcomes: Record<string, number>;
  perMutation: Record<string, Record<string, number>>;
  /** cases that ended otherwise than allowed: an untyped error, a message not naming the device, a wrong code, too slow */
  bad: string[];
  /** deterministic cases that hit the RPC timeout before their expected error */
  timedOutInstead: number;
  unhandledRejections: number;
  maxCaseMs: number;
  /** heap after the run (after gc when exposed) minus before */
  heapGrowthMb: number;
  peakRssMb: number;
  socketsLeft: number;
  /** bytes the device wrote in the endless cases before the client hung up: the largest */
  maxEndlessWrittenMb: number;
  ms: number;
}

const tcpHandles = (): number => process.getActiveResourcesInfo().filter((x) => x === 'TCPSocketWrap').length;

export async function runNetconfFuzz(o: { cases: number; seed: number; concurrency?: number }): Promise<NetconfFuzzResult> {
  const scripts = new Map<string, HostileScript>();
  const written = new Map<string, number>();
  const srv = await startHostileServer((user) => scripts.get(user));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(e); };
  process.on('unhandledRejection', onUnhandled);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const base = tcpHandles();
  let peakRss = 0;
  const res: NetconfFuzzResult = {
    cases: o.cases, seed: o.seed, outcomes: {}, perMutation: {}, bad: [], timedOutInstead: 0, unhandledRejections: 0, maxCaseMs: 0, heapGrowthMb: 0, peakRssMb: 0, socketsLeft: 0, maxEndlessWrittenMb: 0, ms: 0,
  };
  const t0 = Date.now();
  const limit = LIMITS.connectTimeoutMs + 2 * LIMITS.rpcTimeoutMs + 5000;
  const one = async (c: NetconfCase): Promise<void> => {
    const user = `fz${c.n}`;
    scripts.set(user, { ...c.script, done: (n) => { if (c.mutation === 'hello-endless' || c.mutation === 'reply-endless') written.set(user, n); } });
    const started = Date.now();
    let outcome = 'ok';
    let err: unknown;
    let client: NetconfClient | undefined;
    try {
      client = await NetconfClient.connect({ host: '127.0.0.1', port: srv.port, deviceId: user, username: user, password: 'p', ...LIMITS, keepaliveIntervalMs: 0 });
      await client.getConfig('running');
      await client.get(); // a second RPC: a duplicate or trailing garbage shows here
      outcome = 'ok';
    } catch (e) {
      err = e;
    } finally {
      client?.destroy();
      await client?.closed;
    }
    const ms = Date.now() - started;
    res.maxCaseMs = Math.max(res.maxCaseMs, ms);
    if (err !== undefined) {
      const e = err as NetconfError & { code?: string };
      outcome = `${e?.name ?? typeof err}${e?.code ? ` ${e.code}` : ''}`;
      const device = `${user} (127.0.0.1:${srv.port})`;
      if (!(err instanceof NetconfError)) res.bad.push(`case ${c.n} ${c.mutation}: untyped ${String((err as Error)?.stack ?? err)}`);
      else if (!e.message.startsWith(`${device}: `) || e.device !== device) res.bad.push(`case ${c.n} ${c.mutation}: error does not name the device: ${e.message.slice(0, 200)}`);
      else if (e.message.length > 3000) res.bad.push(`case ${c.n} ${c.mutation}: error message of ${e.message.length} characters`);
    }
    if (c.want && !c.want.some((w) => outcome.includes(w))) {
      // a timeout instead is still a bounded, typed end (a loaded machine can delay any reply)
      if (outcome === 'NetconfTimeoutError') res.timedOutInstead++;
      else res.bad.push(`case ${c.n} ${c.mutation}: ended "${outcome}", expected one of ${c.want.join(', ')}`);
    }
    if (ms > limit) res.bad.push(`case ${c.n} ${c.mutation}: took ${ms} ms (limit ${limit})`);
    res.outcomes[outcome] = (res.outcomes[outcome] ?? 0) + 1;
    const pm = (res.perMutation[c.mutation] ??= {});
    pm[outcome] = (pm[outcome] ?? 0) + 1;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    scripts.delete(user);
  };
  try {
    const gen = netconfCases(o.seed, o.cases);
    const workers = Array.from({ length: o.concurrency ?? 8 }, async () => {
      for (let it = gen.next(); !it.done; it = gen.next()) await one(it.value);
    });
    await Promise.all(workers);
    // let every server-side connection close, then count what is left
    for (let i = 0; i < 100 && (srv.openConnections() > 0 || tcpHandles() > base); i++) await new Promise((r) => setTimeout(r, 50));
    res.socketsLeft = tcpHandles() - base;
    for (const n of written.values()) res.maxEndlessWrittenMb = Math.max(res.maxEndlessWrittenMb, n / 1048576);
  } finally {
    await srv.close();
    await new Promise((r) => setImmediate(r));
    process.off('unhandledRejection', onUnhandled);
    gc?.();
    res.heapGrowthMb = (process.memoryUsage().heapUsed - heap0) / 1048576;
    res.peakRssMb = peakRss / 1048576;
    res.unhandledRejections = unhandled.length;
    res.ms = Date.now() - t0;
  }
  return res;
}
