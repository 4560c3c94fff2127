/**
 * NETCONF-over-SSH server (RFC 6242, subsystem "netconf") on ssh2: host keys, authentication
 * (password, public key with the signature checked here), server-wide RPC handlers;
 * `listen(device, {host, port})` binds one address for one device (each is one net.Server:
 * cheap; many per process). Each netconf subsystem channel becomes a ServerSession
 * (session.ts) on that device (device.ts).
 */
import { createHash } from 'node:crypto';
import { Server as SshServer, utils as sshUtils } from 'ssh2';
import type { AuthContext, Connection, Session, ParsedKey } from 'ssh2';
import type { NetconfDevice, RpcHandler } from './device';
import { ServerSession } from './session';

export type AuthRequest =
  | { method: 'password'; username: string; password: string; remote: string }
  | { method: 'publickey'; username: string; publicKey: { algo: string; data: Buffer; fingerprint: string }; remote: string };

/** return true to let the user in; publickey signatures are verified by the server before this is trusted */
export type Authenticator = (req: AuthRequest, device: NetconfDevice) => boolean | Promise<boolean>;

export interface NetconfServerOptions {
  /** private host keys (PEM/OpenSSH); a listen() may give its own */
  hostKeys: (string | Buffer)[];
  authenticate: Authenticator;
  /** capabilities added to every device's hello */
  capabilities?: string[];
  /** close sessions that send no hello within this time (default 30 s) */
  helloTimeoutMs?: number;
  /** largest NETCONF message accepted (default 32 MiB) */
  maxMessageSize?: number;
  /** SSH keepalive to clients, ms (default 0 = off) */
  keepaliveInterval?: number;
}

export interface NetconfListener {
  device: NetconfDevice;
  host: string;
  port: number;
  /** stop accepting and end this listener's connections */
  close(): Promise<void>;
}

/** `SHA256:<base64>` of an SSH public key blob, as OpenSSH prints it */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * An Ed25519 host key (~0.1 ms) that ssh2 can read back: about 1 in 200 keys from ssh2's own
 * generator fails its parser ("Malformed OpenSSH private key"), so draw again (bounded).
 */
export function generateHostKey(): { private: string; public: string } {
  for (let i = 0; i < 20; i++) {
    const k = sshUtils.generateKeyPairSync('ed25519');
    if (!(sshUtils.parseKey(k.private) instanceof Error)) return k;
  }
  throw new Error('could not generate a parsable Ed25519 host key in 20 tries');
}

/** simple authenticator: fixed users with password and/or authorized public keys ("ssh-ed25519 AAAA...") */
export function staticUsers(users: { username: string; password?: string; publicKeys?: string[] }[]): Authenticator {
  const pubs = new Map<string, Set<string>>();
  for (const u of users) {
    const set = new Set<string>();
    for (const k of u.publicKeys ?? []) {
      const parsed = sshUtils.parseKey(k);
      if (parsed instanceof Error) throw new Error(`user ${u.username}: bad public key: ${parsed.message}`);
      set.add((Array.isArray(parsed) ? parsed[0] : parsed).getPublicSSH().toString('base64'));
    }
    pubs.set(u.username, set);
  }
  return (req) => {
    const u = users.find((x) => x.username === req.username);
    if (!u) return false;
    if (req.method === 'password') return u.password !== undefined && timingSafeEqualStr(u.password, req.password);
    return pubs.get(u.username)!.has(req.publicKey.data.toString('base64'));
  };
}

function timingSafeEqualStr(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return ha.equals(hb) && a.length === b.length;
}

export class NetconfServer {
  readonly rpcs = new Map<string, RpcHandler>();
  readonly extraCapabilities: string[];
  readonly helloTimeoutMs: number;
  readonly maxMessageSize: number;
  private readonly hostKeys: (string | Buffer)[];
  private readonly authenticate: Authenticator;
  private readonly keepaliveInterval: number;
  private readonly listeners = new Set<NetconfListener>();

  constructor(opts: NetconfServerOptions) {
    if (!opts.hostKeys?.length) throw new Error('NetconfServer: at least one host key is required');
    this.hostKeys = opts.hostKeys;
    this.authenticate = opts.authenticate;
    this.extraCapabilities = opts.capabilities ?? [];
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 30_000;
    this.maxMessageSize = opts.maxMessageSize ?? 32 * 1024 * 1024;
    this.keepaliveInterval = opts.keepaliveInterval ?? 0;
  }

  /** server-wide RPC handler (a device's own handler of the same name wins) */
  registerRpc(name: string, handler: RpcHandler): this {
    this.rpcs.set(name, handler);
    return this;
  }

  /** Serve `device` on host:port (port 0 = pick a free one). */
  listen(device: NetconfDevice, opts: { host?: string; port?: number; hostKeys?: (string | Buffer)[] } = {}): Promise<NetconfListener> {
    const host = opts.host ?? '127.0.0.1';
    const conns = new Set<Connection>();
    const sessions = new Set<ServerSession>();
    const ssh = new SshServer(
      { hostKeys: opts.hostKeys ?? this.hostKeys, ...(this.keepaliveInterval ? { keepaliveInterval: this.keepaliveInterval } : {}) },
      (conn, info) => {
        conns.add(conn);
        this.handleConnection(device, conn, `${info.ip}:${info.port}`, sessions);
        conn.on('close', () => conns.delete(conn));
      },
    );
    return new Promise((resolve, reject) => {
      const onErr = (e: Error) => reject(new Error(`NETCONF server for ${device.id} cannot listen on ${host}:${opts.port ?? 0}: ${e.message}`));
      ssh.once('error', onErr);
      ssh.listen(opts.port ?? 0, host, () => {
        ssh.off('error', onErr);
        ssh.on('error', () => undefined);
        const addr = ssh.address() as { port: number };
        const l: NetconfListener = {
          device,
          host,
          port: addr.port,
          close: () =>
            new Promise<void>((res) => {
              this.listeners.delete(l);
              for (const s of [...sessions]) s.terminate('server closing');
              for (const c of conns) {
                try {
                  c.end();
                } catch {
                  /* gone */
                }
              }
              ssh.close(() => res());
            }),
        };
        this.listeners.add(l);
        resolve(l);
      });
    });
  }

  /** close every listener */
  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
  }

  private handleConnection(device: NetconfDevice, conn: Connection, remote: string, sessions: Set<ServerSession>): void {
    let username = '';
    conn.on('error', () => undefined); // a client vanishing must not crash the process
    conn.on('authentication', (ctx: AuthContext) => {
      void this.authorize(ctx, device, remote).then(
        (ok) => {
          if (ok) {
            username = ctx.username;
            ctx.accept();
          } else ctx.reject(['password', 'publickey']);
        },
        () => ctx.reject(['password', 'publickey']),
      );
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session: Session = accept();
        session.on('subsystem', (acc, rej, info) => {
          if (info.name !== 'netconf') {
            rej?.();
            return;
          }
          const ch = acc();
          const s = new ServerSession(this, device, ch, conn, username, remote);
          sessions.add(s);
          void s.ended.then(() => sessions.delete(s));
        });
        for (const ev of ['pty', 'shell', 'exec', 'env', 'x11', 'auth-agent', 'sftp'] as const) {
          session.on(ev as 'shell', (_a: unknown, rej?: () => void) => {
            if (typeof rej === 'function') rej();
          });
        }
      });
    });
  }

  private async authorize(ctx: AuthContext, device: NetconfDevice, remote: string): Promise<boolean> {
    if (ctx.method === 'password') {
      return this.authenticate({ method: 'password', username: ctx.username, password: ctx.password, remote }, device);
    }
    if (ctx.method === 'publickey') {
      const ok = await this.authenticate(
        { method: 'publickey', username: ctx.username, publicKey: { algo: ctx.key.algo, data: ctx.key.data, fingerprint: sshFingerprint(ctx.key.data) }, remote },
        device,
      );
      if (!ok) return false;
      if (!ctx.signature) return true; // key query: ssh2 asks again with a signature
      const parsed = sshUtils.parseKey(ctx.key.data);
      if (parsed instanceof Error) return false;
      const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey;
      return key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo as never) === true;
    }
    return false;
  }
}
