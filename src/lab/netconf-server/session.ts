/**
 * One NETCONF session on the server side: the hello exchange (base:1.0 or base:1.1 framing,
 * RFC 6242), the framing decoder, and the RPC dispatch (a device's own handler, then the
 * server's, then the built-in RFC 6241 and Junos operations), with replies in request order.
 * The SSH channel it runs on comes from server.ts.
 */
import type { Connection, ServerChannel } from 'ssh2';
import { FramingDecoder, FramingError, FramingMode, encode } from '../../netconf/framing';
import { RpcError, RpcErrorInfo } from '../../netconf/errors';
import { XmlElement, XmlParseError, child, elements, escapeAttr, escapeText, parseXml } from '../../netconf/xml';
import { CAP, NS_NETCONF, type DeviceSession, type NetconfDevice, type RpcHandler } from './device';
import { junosBuiltins } from './junos';
import { builtins, childTextOf } from './operations';

/** What a session needs of its server (NetconfServer in server.ts). */
export interface SessionHost {
  readonly rpcs: Map<string, RpcHandler>;
  readonly extraCapabilities: string[];
  readonly helloTimeoutMs: number;
  readonly maxMessageSize: number;
}

/** One NETCONF session on the server side. */
export class ServerSession implements DeviceSession {
  readonly id: number;
  readonly device: NetconfDevice;
  readonly username: string;
  readonly remote: string;
  peerCapabilities: string[] = [];
  mode: FramingMode = 'eom';
  closed = false;
  private decoder: FramingDecoder;
  private queue: Promise<void> = Promise.resolve();
  private helloTimer?: NodeJS.Timeout;
  private gotHello = false;
  /** resolves when the session has ended and its locks/rollback are handled */
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;

  constructor(
    private readonly server: SessionHost,
    device: NetconfDevice,
    private readonly channel: ServerChannel,
    private readonly conn: Connection,
    username: string,
    remote: string,
  ) {
    this.device = device;
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.id = device.allocateSessionId();
    this.username = username;
    this.remote = remote;
    this.decoder = new FramingDecoder({
      maxChunkSize: server.maxMessageSize,
      maxMessageSize: server.maxMessageSize,
      onMessage: (m) => this.onMessage(m),
    });
    device.sessions.set(this.id, this);
    device.stats.sessions++;
    device.emitEvent({ type: 'session-start', sessionId: this.id, username, remote });
    channel.on('data', (d: Buffer) => {
      if (this.closed) return;
      try {
        this.decoder.push(d);
      } catch (e) {
        const msg = e instanceof FramingError ? e.message : String(e);
        this.terminate(`framing error: ${msg}`);
      }
    });
    channel.on('close', () => this.terminate('channel closed'));
    channel.on('error', () => this.terminate('channel error'));
    this.helloTimer = setTimeout(() => {
      if (!this.gotHello) this.terminate('no hello from client');
    }, server.helloTimeoutMs);
    this.helloTimer.unref();
    const caps = device.capabilities.concat(server.extraCapabilities).map((c) => `<capability>${escapeText(c)}</capability>`);
    this.write(
      `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NS_NETCONF}"><capabilities>${caps.join('')}</capabilities><session-id>${this.id}</session-id></hello>`,
    );
  }

  private write(msg: string): void {
    if (this.closed) return;
    try {
      this.channel.write(encode(msg, this.mode));
    } catch {
      this.terminate('write failed');
    }
  }

  /** end the session (idempotent): releases locks, may roll back, closes the channel */
  terminate(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    try {
      this.channel.end();
    } catch {
      /* already gone */
    }
    // The SSH connection carries only this session: close it too so the client sees EOF.
    try {
      this.conn.end();
    } catch {
      /* already gone */
    }
    void this.device.sessionEnded(this, reason).finally(() => this.resolveEnded());
  }

  private onMessage(msg: string): void {
    if (!this.gotHello) {
      this.gotHello = true;
      if (this.helloTimer) clearTimeout(this.helloTimer);
      let hello: XmlElement;
      try {
        hello = parseXml(msg);
      } catch (e) {
        this.terminate(`bad hello: ${(e as Error).message}`);
        return;
      }
      if (hello.name !== 'hello' || child(hello, 'session-id')) {
        this.terminate('bad hello');
        return;
      }
      this.peerCapabilities = elements(child(hello, 'capabilities'))
        .filter((c) => c.name === 'capability')
        .map((c) => childTextOf(c));
      const base11 = this.peerCapabilities.includes(CAP.base11);
      if (!base11 && !this.peerCapabilities.includes(CAP.base10)) {
        this.terminate('client offers no NETCONF base capability');
        return;
      }
      if (base11) {
        this.mode = 'chunked';
        this.decoder.setMode('chunked'); // the rest of this read is chunked
      }
      return;
    }
    // Replies go out in request order: process serially.
    this.queue = this.queue.then(() => this.handle(msg));
  }

  private async handle(msg: string): Promise<void> {
    if (this.closed) return;
    let rpc: XmlElement;
    try {
      rpc = parseXml(msg);
    } catch (e) {
      const m = e instanceof XmlParseError ? e.message : String(e);
      this.write(replyXml({}, errorXml([{ type: 'rpc', tag: 'malformed-message', severity: 'error', message: `unparsable XML: ${m}` }])));
      return;
    }
    if (rpc.name !== 'rpc') {
      this.write(replyXml({}, errorXml([{ type: 'rpc', tag: 'malformed-message', severity: 'error', message: `expected <rpc>, got <${rpc.name}>` }])));
      return;
    }
    const messageId = rpc.attrs['message-id'];
    if (messageId === undefined) {
      this.write(
        replyXml(
          rpc.attrs,
          errorXml([
            { type: 'rpc', tag: 'missing-attribute', severity: 'error', message: 'rpc has no message-id', info: { 'bad-attribute': 'message-id', 'bad-element': 'rpc' } },
          ]),
        ),
      );
      return;
    }
    const op = elements(rpc)[0];
    if (!op) {
      this.write(replyXml(rpc.attrs, errorXml([{ type: 'rpc', tag: 'missing-element', severity: 'error', message: 'rpc has no operation', info: { 'bad-element': 'rpc' } }])));
      return;
    }
    this.device.stats.rpcs++;
    this.device.emitEvent({ type: 'rpc', sessionId: this.id, operation: op.name });
    const handler = this.device.rpcs.get(op.name) ?? this.server.rpcs.get(op.name) ?? builtinFor(this.device, op.name);
    let body: string;
    try {
      if (!handler) {
        throw new RpcError('operation-not-supported', `operation '${op.name}' is not supported`, { type: 'protocol', path: `/rpc/${op.name}` });
      }
      const res = await handler({ device: this.device, session: this, op, rpc, messageId });
      const warnings = res && 'warnings' in res && res.warnings ? errorXml(res.warnings) : '';
      if (!res || 'ok' in res) body = warnings + '<ok/>';
      else if ('data' in res) body = `<data>${res.data}</data>` + warnings;
      else body = res.xml + warnings;
    } catch (e) {
      body = errorXml(toErrorInfos(e));
    }
    this.write(replyXml(rpc.attrs, body));
    if (op.name === 'close-session' && !this.closed) {
      // give the reply a moment to leave before closing
      setImmediate(() => this.terminate('close-session'));
    }
  }
}

function toErrorInfos(e: unknown): RpcErrorInfo[] {
  if (e instanceof RpcError) return e.errors;
  if (e instanceof XmlParseError) return [{ type: 'rpc', tag: 'malformed-message', severity: 'error', message: e.message }];
  return [{ type: 'application', tag: 'operation-failed', severity: 'error', message: e instanceof Error ? e.message : String(e) }];
}

function replyXml(rpcAttrs: Record<string, string>, body: string): string {
  const attrs = Object.entries(rpcAttrs)
    .filter(([k]) => k !== 'xmlns')
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  return `<rpc-reply xmlns="${NS_NETCONF}"${attrs}>${body}</rpc-reply>`;
}

/** serialise rpc-error elements */
export function errorXml(errors: RpcErrorInfo[]): string {
  return errors
    .map((e) => {
      let s = `<rpc-error><error-type>${escapeText(e.type)}</error-type><error-tag>${escapeText(e.tag)}</error-tag><error-severity>${escapeText(e.severity)}</error-severity>`;
      if (e.appTag) s += `<error-app-tag>${escapeText(e.appTag)}</error-app-tag>`;
      if (e.path) s += `<error-path>${escapeText(e.path)}</error-path>`;
      if (e.message) s += `<error-message xml:lang="en">${escapeText(e.message)}</error-message>`;
      if (e.info && Object.keys(e.info).length) {
        s += '<error-info>' + Object.entries(e.info).map(([k, v]) => `<${k}>${escapeText(v)}</${k}>`).join('') + '</error-info>';
      }
      return s + '</rpc-error>';
    })
    .join('');
}

function builtinFor(device: NetconfDevice, name: string): RpcHandler | undefined {
  if (Object.prototype.hasOwnProperty.call(builtins, name)) return builtins[name];
  if (device.junos && Object.prototype.hasOwnProperty.call(junosBuiltins, name)) return junosBuiltins[name];
  return undefined;
}
