/**
 * A deliberately misbehaving NETCONF-over-SSH server for client fault tests, on ssh2's Server.
 * It sends a normal base:1.1 hello, then answers the first RPC according to `behaviour`.
 * `rpcSeen` resolves when the first RPC arrives (the barrier: the fault hits mid-flight).
 */
import { Server as SshServer, utils } from 'ssh2';
import type { Connection } from 'ssh2';
import { FramingDecoder, encode } from '../../src/netconf/framing';

export type BadBehaviour =
  | 'close-mid-reply' // half a chunk of the reply, then the connection ends
  | 'garbage-framing' // bytes that are not chunked framing
  | 'huge-chunk-header' // a chunk header announcing 100 GB
  | 'unknown-message-id' // a well-formed reply to a message-id never sent
  | 'never-answer' // reads the RPC, says nothing
  | 'refuse-auth' // every password is wrong
  | 'no-hello'; // never sends a hello

export interface BadServer {
  port: number;
  hostKey: { private: string; public: string };
  /** resolves with the raw first RPC once it has arrived */
  rpcSeen: Promise<string>;
  /** connections currently open on the server side */
  openConnections(): number;
  /** ssh authentication attempts seen */
  authAttempts: number;
  close(): Promise<void>;
}

const HELLO =
  '<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>' +
  '<capability>urn:ietf:params:netconf:base:1.0</capability><capability>urn:ietf:params:netconf:base:1.1</capability>' +
  '</capabilities><session-id>7</session-id></hello>';

export async function startBadServer(behaviour: BadBehaviour, hostKey = utils.generateKeyPairSync('ed25519')): Promise<BadServer> {
  const conns = new Set<Connection>();
  let resolveRpc!: (s: string) => void;
  const rpcSeen = new Promise<string>((r) => (resolveRpc = r));
  const state = { authAttempts: 0 };
  const srv = new SshServer({ hostKeys: [hostKey.private] }, (conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      state.authAttempts++;
      if (behaviour === 'refuse-auth' || ctx.method !== 'password') return ctx.reject(['password']);
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acc) => {
          const ch = acc();
          if (behaviour !== 'no-hello') ch.write(encode(HELLO, 'eom'));
          let gotHello = false;
          const dec: FramingDecoder = new FramingDecoder({
            onMessage: (m) => {
              if (!gotHello) {
                gotHello = true;
                dec.setMode('chunked');
                return;
              }
              resolveRpc(m);
              const id = /message-id="([^"]*)"/.exec(m)?.[1] ?? '?';
              const reply = `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="${id}"><data><x>${'y'.repeat(200)}</x></data></rpc-reply>`;
              switch (behaviour) {
                case 'close-mid-reply': {
                  const wire = encode(reply, 'chunked');
                  ch.write(wire.subarray(0, 60), () => setTimeout(() => conn.end(), 20));
                  break;
                }
                case 'garbage-framing':
                  ch.write(Buffer.from('\n#12\n<rpc-reply/>HTTP/1.1 400 Bad Request\r\n'));
                  break;
                case 'huge-chunk-header':
                  ch.write(Buffer.from('\n#100000000000\n<rpc-reply'));
                  break;
                case 'unknown-message-id':
                  ch.write(encode(reply.replace(`message-id="${id}"`, 'message-id="999999"'), 'chunked'));
                  break;
                case 'never-answer':
                default:
                  break;
              }
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
        });
      });
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    hostKey,
    rpcSeen,
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
