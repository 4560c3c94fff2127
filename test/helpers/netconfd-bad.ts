/**
 * Deliberately misbehaving NETCONF-over-SSH servers for client fault and fuzz tests, on ssh2's
 * Server, on 127.0.0.1 only.
 *
 * - `startHostileServer(pick)`: each connection runs the script `pick(username)` returns, so
 *   one server serves many fuzz cases at once (the client's username names its case). A
 *   script writes whatever bytes it likes as the hello and as the answer to each RPC, with
 *   backpressure, and may end the connection or hang.
 * - `startBadServer(behaviour)`: the named faults of the fault tests (a normal base:1.1 hello,
 *   then the fault on the first RPC). `rpcSeen` resolves when the first RPC arrives (the
 *   barrier: the fault hits mid-flight).
 */
import { Server as SshServer, utils } from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { FramingDecoder, encode } from '../../src/netconf/framing';

export type BadBehaviour =
  | 'close-mid-reply' // half a chunk of the reply, then the connection ends
  | 'garbage-framing' // bytes that are not chunked framing
  | 'huge-chunk-header' // a chunk header announcing 100 GB
  | 'unknown-message-id' // a well-formed reply to a message-id never sent
  | 'duplicate-message-id' // the reply, then the same reply again
  | 'huge-reply' // a well-formed reply of 8 MiB (in 1 MiB chunks)
  | 'endless-reply' // chunk after chunk, never the end-of-chunks marker
  | 'endless-hello' // hello bytes that never reach the ]]>]]> delimiter
  | 'never-answer' // reads the RPC, says nothing
  | 'refuse-auth' // every password is wrong
  | 'no-hello'; // never sends a hello

export const HELLO =
  '<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>' +
  '<capability>urn:ietf:params:netconf:base:1.0</capability><capability>urn:ietf:params:netconf:base:1.1</capability>' +
  '</capabilities><session-id>7</session-id></hello>';

export const reply = (id: string, inner = `<data><x>${'y'.repeat(200)}</x></data>`): string =>
  `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="${id}">${inner}</rpc-reply>`;

/** What a script can do with its connection. */
export interface HostileSession {
  /** writes on the NETCONF channel; resolves once the channel takes more (false: it closed) */
  write(b: Buffer | string): Promise<boolean>;
  /** writes `chunk` again and again until the client goes away or `max` bytes are out */
  flood(chunk: Buffer, max: number): Promise<void>;
  /** ends the SSH connection */
  end(): void;
  readonly closed: boolean;
  /** bytes written so far */
  readonly written: number;
}

export interface HostileScript {
  /** sends the hello (default: HELLO, base:1.0 framing) */
  hello?(s: HostileSession): void | Promise<void>;
  /** framing the client's messages arrive in after the hellos (default chunked, as base:1.1 gives) */
  readAs?: 'eom' | 'chunked';
  /** each RPC of the client, with its message-id and its number (1, 2, ...) */
  rpc?(r: { id: string; text: string; n: number }, s: HostileSession): void | Promise<void>;
  /** told when the connection is gone, with the bytes the script wrote */
  done?(written: number): void;
}

export interface HostileServer {
  port: number;
  hostKey: { private: string; public: string };
  /** connections currently open on the server side */
  openConnections(): number;
  /** ssh authentication attempts seen */
  readonly authAttempts: number;
  close(): Promise<void>;
}

export async function startHostileServer(
  pick: (username: string) => HostileScript | undefined,
  opts: { hostKey?: { private: string; public: string }; refuseAuth?: boolean } = {},
): Promise<HostileServer> {
  const hostKey = opts.hostKey ?? utils.generateKeyPairSync('ed25519');
  const conns = new Set<Connection>();
  const state = { authAttempts: 0 };
  const srv = new SshServer({ hostKeys: [hostKey.private] }, (conn) => {
    conns.add(conn);
    let script: HostileScript | undefined;
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      state.authAttempts++;
      if (opts.refuseAuth || ctx.method !== 'password') return ctx.reject(['password']);
      script = pick(ctx.username);
      if (!script) return ctx.reject(['password']);
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acc) => {
          const ch: ServerChannel = acc();
          const s = hostileSession(ch, conn);
          ch.on('close', () => script?.done?.(s.written));
          const sc = script!;
          let gotHello = false;
          let n = 0;
          const dec: FramingDecoder = new FramingDecoder({
            onMessage: (m) => {
              if (!gotHello) {
                gotHello = true;
                dec.setMode(sc.readAs ?? 'chunked');
                return;
              }
              const id = /message-id="([^"]*)"/.exec(m)?.[1] ?? '?';
              void Promise.resolve(sc.rpc?.({ id, text: m, n: ++n }, s)).catch(() => undefined);
            },
          });
          ch.on('data', (d: Buffer) => {
            try {
              dec.push(d);
            } catch {
              /* a bad server does not care */
            }
          });
          ch.on('error', () => undefined);
          void Promise.resolve(sc.hello ? sc.hello(s) : s.write(encode(HELLO, 'eom'))).catch(() => undefined);
        });
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    hostKey,
    openConnections: () => conns.size,
    get authAttempts() {
      return state.authAttempts;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.end();
        srv.close(() => r());
      }),
  };
}

function hostileSession(ch: ServerChannel, conn: Connection): HostileSession {
  let closed = false;
  let written = 0;
  ch.on('close', () => (closed = true));
  const s: HostileSession = {
    get closed() {
      return closed;
    },
    get written() {
      return written;
    },
    write: (b) =>
      new Promise<boolean>((resolve) => {
        if (closed) return resolve(false);
        const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
        written += buf.length;
        if (ch.write(buf)) return resolve(true);
        const go = () => { ch.off('close', stop); resolve(true); };
        const stop = () => { ch.off('drain', go); resolve(false); };
        ch.once('drain', go);
        ch.once('close', stop);
      }),
    flood: async (chunk, max) => {
      while (!closed && written < max) if (!(await s.write(chunk))) break;
    },
    end: () => {
      closed = true;
      conn.end();
    },
  };
  return s;
}

export interface BadServer extends HostileServer {
  /** resolves with the raw first RPC once it has arrived */
  rpcSeen: Promise<string>;
  /** bytes the server wrote on its last connection, once that connection closed */
  lastWritten: Promise<number>;
}

export async function startBadServer(behaviour: BadBehaviour, hostKey = utils.generateKeyPairSync('ed25519')): Promise<BadServer> {
  let resolveRpc!: (s: string) => void;
  const rpcSeen = new Promise<string>((r) => (resolveRpc = r));
  let resolveWritten!: (n: number) => void;
  const lastWritten = new Promise<number>((r) => (resolveWritten = r));
  const script: HostileScript = {
    done: (n) => resolveWritten(n),
    hello: (s) => {
      if (behaviour === 'no-hello') return;
      // a hello that goes on and on: capability after capability, never the delimiter
      if (behaviour === 'endless-hello') return s.flood(Buffer.from('<capability>urn:x:'.padEnd(1024, 'y') + '</capability>'), 64 * 1024 * 1024);
      return s.write(encode(HELLO, 'eom')).then(() => undefined);
    },
    rpc: async ({ id, text, n }, s) => {
      if (n > 1) return;
      resolveRpc(text);
      const r = reply(id);
      switch (behaviour) {
        case 'close-mid-reply':
          await s.write(encode(r, 'chunked').subarray(0, 60));
          setTimeout(() => s.end(), 20);
          break;
        case 'garbage-framing':
          await s.write('\n#12\n<rpc-reply/>HTTP/1.1 400 Bad Request\r\n');
          break;
        case 'huge-chunk-header':
          await s.write('\n#100000000000\n<rpc-reply');
          break;
        case 'unknown-message-id':
          await s.write(encode(r.replace(`message-id="${id}"`, 'message-id="999999"'), 'chunked'));
          break;
        case 'duplicate-message-id':
          await s.write(Buffer.concat([encode(r, 'chunked'), encode(r, 'chunked')]));
          break;
        case 'huge-reply':
          await s.write(encode(reply(id, `<data><x>${'z'.repeat(8 * 1024 * 1024)}</x></data>`), 'chunked'));
          break;
        case 'endless-reply':
          await s.write(`\n#${Buffer.byteLength(r.slice(0, -12))}\n${r.slice(0, -12)}`);
          await s.flood(Buffer.from(`\n#65536\n${'z'.repeat(65536)}`), 1024 * 1024 * 1024);
          break;
        default:
          break;
      }
    },
  };
  const srv = await startHostileServer(() => script, { hostKey, refuseAuth: behaviour === 'refuse-auth' });
  return Object.assign(srv, { rpcSeen, lastWritten });
}
