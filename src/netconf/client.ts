/**
 * NETCONF client (RFC 6241) over SSH (RFC 6242) on ssh2 1.x.
 *
 * - password or private-key auth, SSH keepalives, connect and per-RPC timeouts;
 * - host-key pinning through a caller-provided store (trust on first use; a changed key fails
 *   with HostKeyChangedError naming the device; `resetHostKey` for an RMA);
 * - hello exchange, capabilities, session-id; base:1.1 chunked framing when both sides offer it;
 * - several RPCs in flight, replies matched by message-id; a reply nobody asked for (or a second
 *   one to the same request), bad framing or unparsable XML ends the session (the stream can no
 *   longer be trusted);
 * - limits against a hostile device: the hello must arrive within connectTimeoutMs and fit
 *   maxHelloSize, a reply must fit maxMessageSize (a chunk header announcing more fails on its
 *   digits, before anything is buffered) and arrive within rpcTimeoutMs, so a session holds at
 *   most about maxMessageSize of buffered reply;
 * - `<rpc-error>` parsed into NetconfRpcError (warnings kept apart on the reply).
 *
 * An RPC timeout closes the session too: the device may still act on the request, so the
 * caller must treat the outcome as unknown (the transaction helper relies on commit confirmed
 * for exactly this reason).
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { Client as SshClient } from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { FramingDecoder, FramingError, FramingMode, encode } from './framing';
import {
  HostKeyChangedError,
  NetconfAuthError,
  NetconfConnectError,
  NetconfError,
  NetconfProtocolError,
  NetconfRpcError,
  NetconfSessionClosedError,
  NetconfTimeoutError,
  RpcErrorInfo,
} from './errors';
import { XmlElement, child, childText, elements, escapeAttr, escapeText, innerXml, parseXml, textOf } from './xml';

export const NS_NETCONF = 'urn:ietf:params:xml:ns:netconf:base:1.0';
export const CAP_BASE_10 = 'urn:ietf:params:netconf:base:1.0';
export const CAP_BASE_11 = 'urn:ietf:params:netconf:base:1.1';
export const CAP_JUNOS = 'http://xml.juniper.net/netconf/junos/1.0';
/** see NetconfClientOptions.helloSettleMs */
const YUMA_HELLO_SETTLE_MS = 200;

/** Where pinned host keys live (the service keeps them with the device record). */
export interface HostKeyStore {
  get(deviceId: string): Promise<string | undefined>;
  set(deviceId: string, fingerprint: string): Promise<void>;
  /** forget the pinned key (RMA: the replacement device has a new key) */
  delete?(deviceId: string): Promise<void>;
}

/** In-memory HostKeyStore (tests, simulator, one-shot CLI runs). */
export class MemoryHostKeyStore implements HostKeyStore {
  readonly keys = new Map<string, string>();
  async get(id: string): Promise<string | undefined> {
    return this.keys.get(id);
  }
  async set(id: string, fp: string): Promise<void> {
    this.keys.set(id, fp);
  }
  async delete(id: string): Promise<void> {
    this.keys.delete(id);
  }
}

/** RMA: forget a device's pinned key so the next connection trusts the new one. */
export async function resetHostKey(store: HostKeyStore, deviceId: string): Promise<void> {
  if (!store.delete) throw new Error(`host key store cannot reset ${deviceId}: it has no delete()`);
  await store.delete(deviceId);
}

/** `SHA256:<base64>`, as OpenSSH prints host key fingerprints */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

export interface NetconfClientOptions {
  host: string;
  /** default 830 */
  port?: number;
  /** names the device in errors and in the host key store (default host:port) */
  deviceId?: string;
  username: string;
  password?: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  /** host-key pinning; when absent every key is accepted (tests only) */
  hostKeyStore?: HostKeyStore;
  /** TCP + SSH + hello, default 15 s */
  connectTimeoutMs?: number;
  /** default per-RPC timeout, default 60 s */
  rpcTimeoutMs?: number;
  /** SSH keepalive interval, default 10 s (0 = off); the session drops after keepaliveCountMax misses */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** offer base:1.1 (default true) */
  base11?: boolean;
  /** extra client capabilities in our hello */
  capabilities?: string[];
  /**
   * Pause after the hello exchange before the first RPC. yuma123's netconfd (2.13) silently drops
   * an RPC that reaches it in the same read as the client's hello (found under load; reproduced by
   * writing both at once), so for a server whose hello names yuma modules the default is 200 ms;
   * 0 for every other server.
   */
  helloSettleMs?: number;
  /** largest reply accepted, bytes (default 64 MiB) */
  maxMessageSize?: number;
  /** largest server hello accepted, bytes (default 1 MiB: Junos and netconfd send 10-60 kB) */
  maxHelloSize?: number;
}

export interface RpcReply {
  messageId: string;
  /** the whole `<rpc-reply>` text */
  xml: string;
  /** parsed `<rpc-reply>` */
  root: XmlElement;
  /** inner XML of `<data>` when present */
  data?: string;
  ok: boolean;
  /** rpc-error elements of severity warning */
  warnings: RpcErrorInfo[];
}

export interface RpcOptions {
  timeoutMs?: number;
}

export type Datastore = 'running' | 'candidate' | 'startup';

export interface EditConfigOptions {
  target?: 'candidate' | 'running';
  /** inner XML of `<config>` */
  config: string;
  defaultOperation?: 'merge' | 'replace' | 'none';
  errorOption?: 'stop-on-error' | 'continue-on-error' | 'rollback-on-error';
  testOption?: 'test-then-set' | 'set' | 'test-only';
}

export interface CommitOptions {
  confirmed?: boolean;
  /** seconds (RFC 6241) */
  confirmTimeout?: number;
  persist?: string;
  persistId?: string;
}

export interface JunosFacts {
  hostname?: string;
  model?: string;
  serial?: string;
  osName?: string;
  osVersion?: string;
}

interface Pending {
  operation: string;
  resolve: (r: RpcReply) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

type State = 'connecting' | 'open' | 'closing' | 'closed';

export class NetconfClient extends EventEmitter {
  /** how the device is named in errors: deviceId, plus host:port when they differ */
  readonly device: string;
  readonly deviceId: string;
  readonly host: string;
  readonly port: number;
  sessionId = 0;
  serverCapabilities: string[] = [];
  framing: FramingMode = 'eom';
  /** fingerprint of the host key the device presented */
  hostKey?: string;
  private state: State = 'connecting';
  private ssh = new SshClient();
  private channel?: ClientChannel;
  private decoder: FramingDecoder;
  private pending = new Map<string, Pending>();
  private nextId = 1;
  private closeError?: NetconfError;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private sshClosed = false;

  private constructor(private readonly opts: NetconfClientOptions) {
    super();
    this.host = opts.host;
    this.port = opts.port ?? 830;
    const hp = `${this.host}:${this.port}`;
    this.deviceId = opts.deviceId ?? hp;
    this.device = opts.deviceId && opts.deviceId !== hp ? `${opts.deviceId} (${hp})` : hp;
    // The hello is read under its own (small) limit; replies under maxMessageSize after it.
    this.decoder = new FramingDecoder({
      maxChunkSize: opts.maxMessageSize ?? 64 * 1024 * 1024,
      maxMessageSize: Math.min(opts.maxHelloSize ?? 1024 * 1024, opts.maxMessageSize ?? 64 * 1024 * 1024),
    });
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** Connect, authenticate, open the netconf subsystem and exchange hellos. */
  static connect(opts: NetconfClientOptions): Promise<NetconfClient> {
    const c = new NetconfClient(opts);
    return c.open();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** resolves when the SSH connection is fully closed */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  get isJunos(): boolean {
    return this.serverCapabilities.some((c) => c.startsWith('http://xml.juniper.net/netconf/junos'));
  }

  /** true when the server advertised a capability starting with `uri` (parameters ignored) */
  hasCapability(uri: string): boolean {
    return this.serverCapabilities.some((c) => c === uri || c.startsWith(uri + '?'));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private open(): Promise<NetconfClient> {
    const o = this.opts;
    const connectTimeout = o.connectTimeoutMs ?? 15_000;
    return new Promise<NetconfClient>((resolve, reject) => {
      let settled = false;
      let hostKeyError: NetconfError | undefined;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          this.teardown(err instanceof NetconfError ? err : new NetconfConnectError(this.device, err.message, err));
          reject(err);
        } else resolve(this);
      };
      const timer = setTimeout(() => {
        done(new NetconfConnectError(this.device, `connect timed out after ${connectTimeout} ms (${this.stage})`));
      }, connectTimeout);

      this.ssh.on('error', (err: Error & { level?: string; code?: string }) => {
        if (hostKeyError) return done(hostKeyError);
        if (!settled) {
          if (err.level === 'client-authentication') {
            return done(new NetconfAuthError(this.device, `authentication failed for user ${o.username}`));
          }
          const what = err.code ? `${err.code}` : err.message;
          return done(new NetconfConnectError(this.device, `cannot connect: ${what}`, err));
        }
        this.fail(new NetconfSessionClosedError(this.device, `SSH error: ${err.message}`));
      });
      this.ssh.on('close', () => {
        this.sshClosed = true;
        if (hostKeyError) done(hostKeyError);
        else if (!settled) done(new NetconfSessionClosedError(this.device, `connection closed during ${this.stage}`));
        this.fail(this.peerClosedError());
        this.resolveClosed();
      });
      this.ssh.on('ready', () => {
        this.stage = 'opening the netconf subsystem';
        this.ssh.subsys('netconf', (err, ch) => {
          if (err) return done(new NetconfConnectError(this.device, `netconf subsystem refused: ${err.message}`));
          this.channel = ch;
          this.stage = 'waiting for the server hello';
          ch.on('data', (d: Buffer) => this.onData(d));
          ch.stderr?.on('data', () => undefined);
          ch.on('close', () => {
            this.fail(this.peerClosedError());
            this.ssh.end();
          });
          this.helloDone = (e?: Error) => done(e);
          const caps = [CAP_BASE_10, ...(o.base11 === false ? [] : [CAP_BASE_11]), ...(o.capabilities ?? [])];
          this.writeRaw(
            `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NS_NETCONF}"><capabilities>${caps
              .map((c) => `<capability>${escapeText(c)}</capability>`)
              .join('')}</capabilities></hello>`,
          );
        });
      });

      const cfg: ConnectConfig = {
        host: this.host,
        port: this.port,
        username: o.username,
        readyTimeout: connectTimeout,
        keepaliveInterval: o.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: o.keepaliveCountMax ?? 3,
        tryKeyboard: false,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          const fp = hostKeyFingerprint(key);
          this.hostKey = fp;
          const store = o.hostKeyStore;
          if (!store) return verify(true);
          store.get(this.deviceId).then(
            async (pinned) => {
              if (pinned === undefined || pinned === '') {
                await store.set(this.deviceId, fp); // trust on first use
                verify(true);
              } else if (pinned === fp) verify(true);
              else {
                hostKeyError = new HostKeyChangedError(this.device, pinned, fp);
                verify(false);
              }
            },
            (e: unknown) => {
              hostKeyError = new NetconfConnectError(this.device, `host key store failed: ${e instanceof Error ? e.message : String(e)}`, e);
              verify(false);
            },
          );
        },
      };
      if (o.password !== undefined) cfg.password = o.password;
      if (o.privateKey !== undefined) {
        cfg.privateKey = o.privateKey;
        if (o.passphrase !== undefined) cfg.passphrase = o.passphrase;
      }
      if (o.password === undefined && o.privateKey === undefined) {
        return done(new NetconfAuthError(this.device, 'no password or private key given'));
      }
      this.stage = 'connecting';
      try {
        this.ssh.connect(cfg);
      } catch (e) {
        done(new NetconfConnectError(this.device, `cannot connect: ${(e as Error).message}`, e));
      }
    });
  }

  private stage = 'connecting';
  private helloDone?: (e?: Error) => void;

  private peerClosedError(): NetconfError {
    if (this.closeError) return this.closeError;
    if (this.decoder.hasPartial) return new NetconfSessionClosedError(this.device, 'session closed by the device in the middle of a reply');
    return new NetconfSessionClosedError(this.device, 'session closed by the device');
  }

  private writeRaw(msg: string): void {
    this.channel!.write(encode(msg, this.framing));
  }

  private onData(d: Buffer): void {
    if (this.state === 'closed') return;
    try {
      const msgs = this.decoder.push(d);
      for (const m of msgs) {
        if ((this.state as State) === 'closed') return;
        this.onMessage(m);
      }
    } catch (e) {
      if (e instanceof FramingError && e.code === 'MESSAGE_TOO_LARGE' && this.state === 'connecting') {
        this.fail(new NetconfProtocolError(this.device, 'HELLO', `server hello larger than ${this.decoder.maxMessageSize} bytes (maxHelloSize): ${e.message}`));
      } else if (e instanceof FramingError) {
        this.fail(new NetconfProtocolError(this.device, e.code, `bad framing from device: ${e.message}`));
      } else {
        this.fail(new NetconfProtocolError(this.device, 'INTERNAL', `processing reply failed: ${(e as Error).message}`));
      }
    }
  }

  private onMessage(msg: string): void {
    let root: XmlElement;
    try {
      root = parseXml(msg);
    } catch (e) {
      this.fail(new NetconfProtocolError(this.device, 'XML', `unparsable message from device: ${(e as Error).message}`));
      return;
    }
    if (this.state === 'connecting') {
      if (root.name !== 'hello') {
        this.helloDone?.(new NetconfProtocolError(this.device, 'HELLO', `expected <hello>, got <${root.name}>`));
        return;
      }
      this.serverCapabilities = elements(child(root, 'capabilities'))
        .filter((c) => c.name === 'capability')
        .map((c) => textOf(c).trim());
      const sid = childText(root, 'session-id');
      if (!sid || !/^\d+$/.test(sid) || Number(sid) === 0) {
        this.helloDone?.(new NetconfProtocolError(this.device, 'HELLO', `server hello has no valid session-id (${sid ?? 'missing'})`));
        return;
      }
      this.sessionId = Number(sid);
      if (!this.serverCapabilities.includes(CAP_BASE_10) && !this.serverCapabilities.includes(CAP_BASE_11)) {
        this.helloDone?.(new NetconfProtocolError(this.device, 'HELLO', 'server offers no NETCONF base capability'));
        return;
      }
      if (this.opts.base11 !== false && this.serverCapabilities.includes(CAP_BASE_11)) {
        // RFC 6242 §4.1: chunked framing for everything after the hellos, both directions
        this.framing = 'chunked';
        this.decoder.setMode('chunked');
      }
      this.state = 'open';
      this.decoder.setMaxMessageSize(this.opts.maxMessageSize ?? 64 * 1024 * 1024);
      const yuma = this.serverCapabilities.some((c) => c.startsWith('http://netconfcentral.org/ns/yuma') || c.startsWith('http://yuma123.org/ns/'));
      const settle = this.opts.helloSettleMs ?? (yuma ? YUMA_HELLO_SETTLE_MS : 0);
      if (settle > 0) setTimeout(() => this.helloDone?.(), settle);
      else this.helloDone?.();
      return;
    }
    if (root.name !== 'rpc-reply') {
      if (root.name === 'notification') return; // no subscriptions are made; ignore
      this.fail(new NetconfProtocolError(this.device, 'REPLY', `unexpected <${root.name}> from device`));
      return;
    }
    const id = root.attrs['message-id'];
    if (id === undefined) {
      // A server answers without message-id only when it could not read our rpc
      const errs = parseRpcErrors(root);
      const all = errs.map((e) => `${e.tag}${e.message ? `: ${e.message}` : ''}`).join('; ') || 'no message-id';
      const what = all.length > 500 ? `${all.slice(0, 500)}...` : all;
      this.fail(new NetconfProtocolError(this.device, 'UNKNOWN_MESSAGE_ID', `reply without message-id (${what})`));
      return;
    }
    const p = this.pending.get(id);
    if (!p) {
      // ids are 1, 2, 3...: one below nextId was sent and already answered
      const n = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : 0;
      if (n > 0 && n < this.nextId) this.fail(new NetconfProtocolError(this.device, 'DUPLICATE_MESSAGE_ID', `second reply to message-id '${id}', which was already answered`));
      else this.fail(new NetconfProtocolError(this.device, 'UNKNOWN_MESSAGE_ID', `reply with unknown message-id '${id.length > 40 ? `${id.slice(0, 40)}...` : id}'`));
      return;
    }
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    const all = parseRpcErrors(root);
    const errors = all.filter((e) => e.severity !== 'warning');
    const warnings = all.filter((e) => e.severity === 'warning');
    if (errors.length) {
      p.reject(new NetconfRpcError(this.device, p.operation, errors, warnings));
      return;
    }
    const dataEl = child(root, 'data');
    p.resolve({ messageId: id, xml: msg, root, data: dataEl ? innerXml(dataEl) : undefined, ok: child(root, 'ok') !== undefined, warnings });
  }

  /** End the session with `err`: every pending RPC fails with it. Idempotent. */
  private fail(err: NetconfError): void {
    if (this.state === 'closed') return;
    if (!this.closeError) this.closeError = err;
    if (this.state === 'connecting') this.helloDone?.(err);
    this.teardown(err);
  }

  private teardown(err: NetconfError): void {
    if (!this.closeError) this.closeError = err;
    const was = this.state;
    this.state = 'closed';
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
    try {
      this.channel?.destroy();
    } catch {
      /* gone */
    }
    try {
      this.ssh.end();
    } catch {
      /* gone */
    }
    // ssh2 end() waits for the peer; make sure the socket goes away even if it never answers
    const t = setTimeout(() => {
      if (!this.sshClosed) {
        try {
          this.ssh.destroy();
        } catch {
          /* gone */
        }
      }
    }, 2000);
    t.unref();
    if (was !== 'closed') this.emit('close', this.closeError);
  }

  /**
   * Send one RPC; `body` is the operation element(s) inside `<rpc>`.
   * Resolves with the reply, rejects with NetconfRpcError on rpc-error (severity error).
   */
  rpc(body: string, opts: RpcOptions & { operation?: string } = {}): Promise<RpcReply> {
    const operation = opts.operation ?? /^\s*<([A-Za-z_][\w.:-]*)/.exec(body)?.[1] ?? 'rpc';
    if (this.state !== 'open') {
      return Promise.reject(
        this.closeError
          ? new NetconfSessionClosedError(this.device, `${operation} not sent: ${this.closeError.message.slice(this.device.length + 2)}`, operation)
          : new NetconfSessionClosedError(this.device, `${operation} not sent: session is ${this.state}`, operation),
      );
    }
    const id = String(this.nextId++);
    const timeoutMs = opts.timeoutMs ?? this.opts.rpcTimeoutMs ?? 60_000;
    return new Promise<RpcReply>((resolve, reject) => {
      const p: Pending = { operation, resolve, reject };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (!this.pending.has(id)) return;
          this.pending.delete(id);
          const err = new NetconfTimeoutError(this.device, operation, `${operation} got no reply within ${timeoutMs} ms; session closed (outcome unknown)`);
          reject(err);
          // a late reply would be out of sync: end the session
          this.fail(new NetconfSessionClosedError(this.device, `session closed after ${operation} timed out`, operation));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      try {
        this.writeRaw(`<rpc xmlns="${NS_NETCONF}" message-id="${escapeAttr(id)}">${body}</rpc>`);
      } catch (e) {
        this.pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        reject(new NetconfSessionClosedError(this.device, `${operation} could not be sent: ${(e as Error).message}`, operation));
      }
    });
  }

  // ------------------------------------------------------------ RFC 6241 operations

  /** `<get>`: running config + state; returns the inner XML of `<data>` */
  async get(filter?: string, opts?: RpcOptions): Promise<string> {
    const r = await this.rpc(`<get>${filterXml(filter)}</get>`, opts);
    return r.data ?? '';
  }

  /** `<get-config>` with an optional subtree filter (inner XML of `<filter>`) */
  async getConfig(source: Datastore = 'running', filter?: string, opts?: RpcOptions): Promise<string> {
    const r = await this.rpc(`<get-config><source><${source}/></source>${filterXml(filter)}</get-config>`, opts);
    return r.data ?? '';
  }

  editConfig(o: EditConfigOptions, opts?: RpcOptions): Promise<RpcReply> {
    let body = `<edit-config><target><${o.target ?? 'candidate'}/></target>`;
    if (o.defaultOperation) body += `<default-operation>${o.defaultOperation}</default-operation>`;
    if (o.testOption) body += `<test-option>${o.testOption}</test-option>`;
    if (o.errorOption) body += `<error-option>${o.errorOption}</error-option>`;
    body += `<config>${o.config}</config></edit-config>`;
    return this.rpc(body, opts);
  }

  /** source: a datastore name or `{config}` (inner XML) */
  copyConfig(source: Datastore | { config: string }, target: Datastore, opts?: RpcOptions): Promise<RpcReply> {
    const src = typeof source === 'string' ? `<${source}/>` : `<config>${source.config}</config>`;
    return this.rpc(`<copy-config><target><${target}/></target><source>${src}</source></copy-config>`, opts);
  }

  lock(target: Datastore = 'candidate', opts?: RpcOptions): Promise<RpcReply> {
    return this.rpc(`<lock><target><${target}/></target></lock>`, opts);
  }

  unlock(target: Datastore = 'candidate', opts?: RpcOptions): Promise<RpcReply> {
    return this.rpc(`<unlock><target><${target}/></target></unlock>`, opts);
  }

  validate(source: Datastore | { config: string } = 'candidate', opts?: RpcOptions): Promise<RpcReply> {
    const src = typeof source === 'string' ? `<${source}/>` : `<config>${source.config}</config>`;
    return this.rpc(`<validate><source>${src}</source></validate>`, opts);
  }

  /** `<commit>`; confirmTimeout is in SECONDS (RFC 6241) */
  commit(o: CommitOptions = {}, opts?: RpcOptions): Promise<RpcReply> {
    let body = '<commit>';
    if (o.confirmed) body += '<confirmed/>';
    if (o.confirmed && o.confirmTimeout !== undefined) body += `<confirm-timeout>${positiveInt(o.confirmTimeout, 'confirmTimeout')}</confirm-timeout>`;
    if (o.persist !== undefined) body += `<persist>${escapeText(o.persist)}</persist>`;
    if (o.persistId !== undefined) body += `<persist-id>${escapeText(o.persistId)}</persist-id>`;
    return this.rpc(body + '</commit>', opts);
  }

  cancelCommit(persistId?: string, opts?: RpcOptions): Promise<RpcReply> {
    return this.rpc(`<cancel-commit>${persistId !== undefined ? `<persist-id>${escapeText(persistId)}</persist-id>` : ''}</cancel-commit>`, opts);
  }

  discardChanges(opts?: RpcOptions): Promise<RpcReply> {
    return this.rpc('<discard-changes/>', opts);
  }

  killSession(sessionId: number, opts?: RpcOptions): Promise<RpcReply> {
    return this.rpc(`<kill-session><session-id>${positiveInt(sessionId, 'sessionId')}</session-id></kill-session>`, opts);
  }

  /** `<close-session>` and wait for the connection to end */
  async closeSession(opts: RpcOptions = {}): Promise<void> {
    if (this.state === 'open') {
      try {
        await this.rpc('<close-session/>', { timeoutMs: opts.timeoutMs ?? 5000 });
      } catch {
        /* closing anyway */
      }
    }
    this.fail(new NetconfSessionClosedError(this.device, 'session closed by the client'));
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  /** close gracefully (close-session), never throws */
  close(): Promise<void> {
    return this.closeSession();
  }

  /** drop the connection now, without close-session */
  destroy(): void {
    this.fail(new NetconfSessionClosedError(this.device, 'session closed by the client'));
    try {
      this.ssh.destroy();
    } catch {
      /* gone */
    }
  }

  // ------------------------------------------------------------ Junos

  /** `<load-configuration>`: xml takes a `<configuration>` element, text takes curly-brace text */
  loadConfiguration(
    o: { action?: 'merge' | 'replace' | 'override' | 'update'; format?: 'xml' | 'text'; config: string } | { rollback: number },
    opts?: RpcOptions,
  ): Promise<RpcReply> {
    if ('rollback' in o) return this.rpc(`<load-configuration rollback="${positiveOrZero(o.rollback)}"/>`, opts);
    const format = o.format ?? 'xml';
    const action = o.action ?? 'merge';
    const content = format === 'text' ? `<configuration-text>${escapeText(o.config)}</configuration-text>` : o.config;
    return this.rpc(`<load-configuration action="${action}" format="${format}">${content}</load-configuration>`, opts);
  }

  /** candidate vs rollback N (0 = the active configuration) as diff text; '' when nothing changed */
  async getConfigurationDiff(rollback = 0, opts?: RpcOptions): Promise<string> {
    const r = await this.rpc(`<get-configuration compare="rollback" rollback="${positiveOrZero(rollback)}" format="text"/>`, opts);
    const out = findDeep(r.root, 'configuration-output');
    return out ? textOf(out).replace(/^\n+/, '') : '';
  }

  /** `<get-configuration>`: the `<configuration>` element of the candidate or committed database */
  async getConfiguration(database: 'candidate' | 'committed' = 'committed', opts?: RpcOptions): Promise<string> {
    const r = await this.rpc(`<get-configuration database="${database}"/>`, opts);
    const c = findDeep(r.root, 'configuration') ?? findDeep(r.root, 'configuration-text');
    return c ? c.source.slice(c.start, c.end) : '';
  }

  /** Junos `<commit-configuration>`; confirmTimeoutMinutes is in MINUTES (Junos) */
  commitConfiguration(o: { confirmed?: boolean; confirmTimeoutMinutes?: number; check?: boolean; log?: string } = {}, opts?: RpcOptions): Promise<RpcReply> {
    let body = '<commit-configuration>';
    if (o.check) body += '<check/>';
    if (o.confirmed) body += '<confirmed/>';
    if (o.confirmed && o.confirmTimeoutMinutes !== undefined) {
      body += `<confirm-timeout>${positiveInt(o.confirmTimeoutMinutes, 'confirmTimeoutMinutes')}</confirm-timeout>`;
    }
    if (o.log) body += `<log>${escapeText(o.log)}</log>`;
    return this.rpc(body + '</commit-configuration>', opts);
  }

  async getSystemInformation(opts?: RpcOptions): Promise<JunosFacts & { xml: string }> {
    const r = await this.rpc('<get-system-information/>', opts);
    const s = findDeep(r.root, 'system-information');
    return {
      hostname: childText(s, 'host-name'),
      model: childText(s, 'hardware-model'),
      serial: childText(s, 'serial-number'),
      osName: childText(s, 'os-name'),
      osVersion: childText(s, 'os-version'),
      xml: s ? s.source.slice(s.start, s.end) : '',
    };
  }

  async getChassisInventory(opts?: RpcOptions): Promise<{ serial?: string; description?: string; xml: string }> {
    const r = await this.rpc('<get-chassis-inventory/>', opts);
    const ch = findDeep(r.root, 'chassis');
    return { serial: childText(ch, 'serial-number'), description: childText(ch, 'description'), xml: ch ? ch.source.slice(ch.start, ch.end) : '' };
  }

  async getSoftwareInformation(opts?: RpcOptions): Promise<{ hostname?: string; model?: string; version?: string; xml: string }> {
    const r = await this.rpc('<get-software-information/>', opts);
    const s = findDeep(r.root, 'software-information');
    return {
      hostname: childText(s, 'host-name'),
      model: childText(s, 'product-model'),
      version: childText(s, 'junos-version') ?? childText(findDeep(s, 'package-information'), 'comment'),
      xml: s ? s.source.slice(s.start, s.end) : '',
    };
  }
}

function filterXml(filter?: string): string {
  return filter === undefined ? '' : `<filter type="subtree">${filter}</filter>`;
}

function positiveInt(n: number, what: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}

function positiveOrZero(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`rollback must be an integer >= 0, got ${n}`);
  return n;
}

/** depth-first search for an element by local name */
function findDeep(el: XmlElement | undefined, name: string, depth = 4): XmlElement | undefined {
  if (!el || depth < 0) return undefined;
  for (const c of elements(el)) {
    if (c.name === name) return c;
  }
  for (const c of elements(el)) {
    const f = findDeep(c, name, depth - 1);
    if (f) return f;
  }
  return undefined;
}

/**
 * `<rpc-error>` elements of a reply (top level and, for Junos, inside *-results wrappers),
 * plus Junos `<xnm:error>` / `<xnm:warning>`. Never looks inside `<data>`.
 */
export function parseRpcErrors(root: XmlElement): RpcErrorInfo[] {
  const out: RpcErrorInfo[] = [];
  const visit = (el: XmlElement, depth: number) => {
    for (const c of elements(el)) {
      if (c.name === 'data') continue;
      if (c.name === 'rpc-error') out.push(rpcErrorOf(c));
      else if ((c.name === 'error' || c.name === 'warning') && c.prefix === 'xnm') {
        out.push({
          type: 'application',
          tag: 'operation-failed',
          severity: c.name === 'warning' ? 'warning' : 'error',
          message: childText(c, 'message') ?? textOf(c).trim(),
          path: childText(c, 'edit-path'),
        });
      } else if (depth < 3) visit(c, depth + 1);
    }
  };
  visit(root, 0);
  return out;
}

function rpcErrorOf(e: XmlElement): RpcErrorInfo {
  const info: Record<string, string> = {};
  for (const c of elements(child(e, 'error-info'))) info[c.name] = elements(c).length ? innerXml(c).trim() : textOf(c).trim();
  const sev = childText(e, 'error-severity');
  const r: RpcErrorInfo = {
    type: childText(e, 'error-type') ?? 'rpc',
    tag: childText(e, 'error-tag') ?? 'operation-failed',
    severity: sev === 'warning' ? 'warning' : 'error',
  };
  const app = childText(e, 'error-app-tag');
  if (app) r.appTag = app;
  const path = childText(e, 'error-path');
  if (path) r.path = path;
  const msg = childText(e, 'error-message');
  if (msg) r.message = msg;
  if (Object.keys(info).length) r.info = info;
  return r;
}
