/**
 * NETCONF-over-SSH server core (RFC 6241 / RFC 6242 / RFC 6242 subsystem "netconf") on ssh2.
 *
 * Used by the twin's device agent (one device per process, config applied to FRR) and by the
 * scale simulator (hundreds of devices in one process). The split:
 *  - `NetconfDevice`: per-device state (running + candidate datastores holding an opaque XML
 *    fragment, locks, sessions, pending confirmed commit, rollback history) and hooks
 *    (`validate`, `apply`, `getState`, `loadText`), plus per-device RPC handlers.
 *  - `NetconfServer`: SSH host keys, authentication, server-wide RPC handlers; `listen(device,
 *    {host, port})` binds one address for one device (each is one net.Server: cheap; many per
 *    process).
 *
 * Datastores hold the inner XML of `<config>` as an opaque string. edit-config merges it
 * schema-less (see datastore.ts: list entries keyed by `<name>`; operation attributes honoured;
 * default-operation replace swaps the whole content). A device agent that stores text (frr.conf,
 * /etc/network/interfaces) wraps it in its own elements and parses them in `apply`.
 *
 * Confirmed commit follows RFC 6241 §8.4 (confirmed-commit:1.1): the configuration before the
 * first confirmed commit is kept; a confirming commit (same session, or persist-id) makes the
 * change permanent; cancel-commit, the timer, or the issuing session ending (without persist)
 * restores it through `apply(previous)`.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { Server as SshServer, utils as sshUtils } from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session, ParsedKey } from 'ssh2';
import { FramingDecoder, FramingError, FramingMode, encode } from '../../netconf/framing';
import { RpcError, RpcErrorInfo } from '../../netconf/errors';
import { XmlElement, XmlParseError, child, childText, elements, escapeAttr, escapeText, innerXml, outerXml, parseXml } from '../../netconf/xml';
import { diffConfig, mergeConfig, subtreeFilter } from './datastore';

export const NS_NETCONF = 'urn:ietf:params:xml:ns:netconf:base:1.0';
export const CAP = {
  base10: 'urn:ietf:params:netconf:base:1.0',
  base11: 'urn:ietf:params:netconf:base:1.1',
  candidate: 'urn:ietf:params:netconf:capability:candidate:1.0',
  confirmedCommit10: 'urn:ietf:params:netconf:capability:confirmed-commit:1.0',
  confirmedCommit11: 'urn:ietf:params:netconf:capability:confirmed-commit:1.1',
  validate10: 'urn:ietf:params:netconf:capability:validate:1.0',
  validate11: 'urn:ietf:params:netconf:capability:validate:1.1',
  writableRunning: 'urn:ietf:params:netconf:capability:writable-running:1.0',
  junos: 'http://xml.juniper.net/netconf/junos/1.0',
} as const;

export type DatastoreName = 'running' | 'candidate';

/** What a device reports about itself (Junos get-*-information replies, facts). */
export interface DeviceFacts {
  hostname: string;
  model: string;
  serial: string;
  osName?: string;
  osVersion: string;
}

export interface HookContext {
  device: NetconfDevice;
  /** the session asking, absent for timer-driven rollbacks */
  session?: ServerSession;
}

export interface ApplyContext extends HookContext {
  reason: 'commit' | 'confirmed-commit' | 'rollback' | 'copy-config';
  /** configuration in effect before this apply */
  previous: string;
}

export interface DeviceHooks {
  /** reject with RpcError (or any Error: operation-failed) */
  validate?(config: string, ctx: HookContext): void | Promise<void>;
  /** make `config` the device's configuration; throwing rejects the commit (running unchanged) */
  apply?(config: string, ctx: ApplyContext): void | Promise<void>;
  /** operational state XML fragment appended to `<get>` data */
  getState?(ctx: HookContext): string | Promise<string>;
  /** Junos load-configuration format="text": return the new candidate (default: replace with `<configuration-text>`) */
  loadText?(candidate: string, text: string, action: string, ctx: HookContext): string | Promise<string>;
}

export type DeviceEvent =
  | { type: 'session-start'; sessionId: number; username: string; remote: string }
  | { type: 'session-end'; sessionId: number; reason: string }
  | { type: 'rpc'; sessionId: number; operation: string }
  | { type: 'commit'; sessionId?: number; confirmed: boolean; config: string }
  | { type: 'confirm'; sessionId?: number }
  | { type: 'rollback'; reason: 'timeout' | 'cancel-commit' | 'session-end'; config: string; error?: string };

export interface RpcContext {
  device: NetconfDevice;
  session: ServerSession;
  /** the operation element (first child of `<rpc>`) */
  op: XmlElement;
  rpc: XmlElement;
  messageId: string;
}

/** void / {ok} -> `<ok/>`; {data} -> `<data>..</data>`; {xml} -> raw reply content */
export type RpcResult = void | { ok: true; warnings?: RpcErrorInfo[] } | { data: string; warnings?: RpcErrorInfo[] } | { xml: string; warnings?: RpcErrorInfo[] };
export type RpcHandler = (ctx: RpcContext) => RpcResult | Promise<RpcResult>;

export interface NetconfDeviceOptions {
  id: string;
  /** initial running configuration (XML fragment) */
  running?: string;
  /** capabilities added to the hello */
  capabilities?: string[];
  hooks?: DeviceHooks;
  /** enables Junos RPCs and the Junos capability */
  junos?: boolean;
  facts?: DeviceFacts;
  /** accept edit-config/copy-config to running (default false: candidate only) */
  writableRunning?: boolean;
  /** how many previous running configurations to keep for compare rollback (default 5) */
  rollbackHistory?: number;
  /** milliseconds in a Junos confirm-timeout "minute" (default 60000; tests shorten it) */
  junosMinuteMs?: number;
}

interface PendingConfirm {
  sessionId: number;
  persist?: string;
  /** running configuration before the first confirmed commit */
  rollbackTo: string;
  timer: NodeJS.Timeout;
  deadline: number;
}

/** marks a Junos confirmed commit: any session may confirm it (not session-bound) */
const JUNOS_PERSIST = '\u0000junos';

export class NetconfDevice extends EventEmitter {
  readonly id: string;
  running: string;
  candidate: string;
  /** candidate edited and not yet committed or discarded */
  candidateDirty = false;
  readonly locks: Partial<Record<DatastoreName, number>> = {};
  readonly sessions = new Map<number, ServerSession>();
  readonly capabilities: string[];
  readonly hooks: DeviceHooks;
  readonly junos: boolean;
  facts?: DeviceFacts;
  readonly writableRunning: boolean;
  readonly rpcs = new Map<string, RpcHandler>();
  /** previous running configurations, newest first (rollback 1 = history[0]) */
  readonly history: string[] = [];
  readonly rollbackHistory: number;
  readonly junosMinuteMs: number;
  pending?: PendingConfirm;
  private nextSessionId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  /** counters (tests, sim statistics) */
  readonly stats = { sessions: 0, rpcs: 0, commits: 0, rollbacks: 0 };

  constructor(opts: NetconfDeviceOptions) {
    super();
    this.id = opts.id;
    this.running = opts.running ?? '';
    this.candidate = this.running;
    this.hooks = opts.hooks ?? {};
    this.junos = opts.junos ?? false;
    this.facts = opts.facts;
    this.writableRunning = opts.writableRunning ?? false;
    this.rollbackHistory = opts.rollbackHistory ?? 5;
    this.junosMinuteMs = opts.junosMinuteMs ?? 60_000;
    this.capabilities = [
      CAP.base10,
      CAP.base11,
      CAP.candidate,
      CAP.confirmedCommit10,
      CAP.confirmedCommit11,
      CAP.validate10,
      CAP.validate11,
      ...(this.writableRunning ? [CAP.writableRunning] : []),
      ...(this.junos ? [CAP.junos] : []),
      ...(opts.capabilities ?? []),
    ];
  }

  /** device-specific RPC (overrides server-wide and built-in handlers of the same name) */
  registerRpc(name: string, handler: RpcHandler): this {
    this.rpcs.set(name, handler);
    return this;
  }

  allocateSessionId(): number {
    return this.nextSessionId++;
  }

  /** run mutations of this device one at a time (commits, rollbacks, edits) */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  emitEvent(ev: DeviceEvent): void {
    this.emit('event', ev);
  }

  private pushHistory(prev: string): void {
    this.history.unshift(prev);
    if (this.history.length > this.rollbackHistory) this.history.length = this.rollbackHistory;
  }

  /** configuration for `rollback N` (0 = running) */
  rollbackConfig(n: number): string | undefined {
    if (n === 0) return this.running;
    return this.history[n - 1];
  }

  /**
   * Commit the candidate. `confirmed` starts or extends a confirmed commit.
   * Caller holds `exclusive`.
   */
  async commit(
    session: ServerSession | undefined,
    opts: { confirmed?: boolean; timeoutMs?: number; persist?: string; persistId?: string } = {},
  ): Promise<void> {
    const sid = session?.id;
    for (const ds of ['running', 'candidate'] as const) {
      const holder = this.locks[ds];
      if (holder !== undefined && holder !== sid) {
        throw new RpcError('in-use', `${ds} is locked by session ${holder}`, { type: 'protocol', info: { 'session-id': String(holder) } });
      }
    }
    const p = this.pending;
    if (p) {
      if (opts.persistId !== undefined) {
        if (p.persist === undefined || p.persist !== opts.persistId) {
          throw new RpcError('invalid-value', `persist-id '${opts.persistId}' does not match the pending confirmed commit`, { type: 'protocol' });
        }
      } else if (p.persist === undefined) {
        if (p.sessionId !== sid) {
          throw new RpcError('in-use', `a confirmed commit of session ${p.sessionId} is pending; only that session can confirm it`, {
            type: 'protocol',
          });
        }
      } else if (p.persist !== JUNOS_PERSIST) {
        throw new RpcError('missing-element', 'a persistent confirmed commit is pending: give <persist-id>', { type: 'protocol' });
      }
    } else if (opts.persistId !== undefined) {
      throw new RpcError('invalid-value', 'no confirmed commit is pending for this persist-id', { type: 'protocol' });
    }
    const config = this.candidate;
    const ctx: HookContext = { device: this, session };
    await this.hooks.validate?.(config, ctx);
    const previous = this.running;
    if (config !== previous || !this.hooks.apply) {
      await this.hooks.apply?.(config, { ...ctx, reason: opts.confirmed ? 'confirmed-commit' : 'commit', previous });
    }
    if (config !== previous) this.pushHistory(previous);
    this.running = config;
    this.candidateDirty = false;
    this.stats.commits++;
    if (opts.confirmed) {
      const timeoutMs = opts.timeoutMs ?? 600_000;
      if (p) clearTimeout(p.timer);
      const pending: PendingConfirm = {
        sessionId: p ? p.sessionId : (sid ?? 0),
        persist: opts.persist ?? p?.persist,
        rollbackTo: p ? p.rollbackTo : previous,
        deadline: Date.now() + timeoutMs,
        timer: setTimeout(() => {
          void this.exclusive(() => this.rollbackPending('timeout'));
        }, timeoutMs),
      };
      pending.timer.unref();
      this.pending = pending;
      this.emitEvent({ type: 'commit', sessionId: sid, confirmed: true, config });
    } else {
      if (p) {
        clearTimeout(p.timer);
        this.pending = undefined;
        this.emitEvent({ type: 'confirm', sessionId: sid });
      }
      this.emitEvent({ type: 'commit', sessionId: sid, confirmed: false, config });
    }
  }

  /** restore the configuration from before the pending confirmed commit. Caller holds `exclusive`. */
  async rollbackPending(reason: 'timeout' | 'cancel-commit' | 'session-end', session?: ServerSession): Promise<void> {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    const previous = this.running;
    let error: string | undefined;
    try {
      await this.hooks.apply?.(p.rollbackTo, { device: this, session, reason: 'rollback', previous });
    } catch (e) {
      // the datastore still reverts: the device must not keep claiming the unconfirmed config
      error = e instanceof Error ? e.message : String(e);
    }
    if (previous !== p.rollbackTo) this.pushHistory(previous);
    this.running = p.rollbackTo;
    this.candidate = this.running;
    this.candidateDirty = false;
    this.stats.rollbacks++;
    this.emitEvent({ type: 'rollback', reason, config: this.running, error });
  }

  /** called when a session ends for any reason */
  async sessionEnded(session: ServerSession, reason: string): Promise<void> {
    this.sessions.delete(session.id);
    await this.exclusive(async () => {
      if (this.locks.candidate === session.id) {
        // RFC 6241 §8.3.5.2: a session ending with the candidate locked discards its changes
        this.candidate = this.running;
        this.candidateDirty = false;
      }
      for (const ds of ['running', 'candidate'] as const) if (this.locks[ds] === session.id) delete this.locks[ds];
      if (this.pending && this.pending.persist === undefined && this.pending.sessionId === session.id) {
        await this.rollbackPending('session-end', session);
      }
    });
    this.emitEvent({ type: 'session-end', sessionId: session.id, reason });
  }

  /** writable-running: make `config` the running configuration directly (edit-config/copy-config to running). Caller holds `exclusive`. */
  async commitRunningDirect(config: string, session: ServerSession): Promise<void> {
    if (this.pending) throw new RpcError('in-use', 'a confirmed commit is pending', { type: 'protocol' });
    const previous = this.running;
    await this.hooks.validate?.(config, { device: this, session });
    await this.hooks.apply?.(config, { device: this, session, reason: 'copy-config', previous });
    if (config !== previous) this.pushHistory(previous);
    this.running = config;
    if (!this.candidateDirty) this.candidate = config;
    this.stats.commits++;
    this.emitEvent({ type: 'commit', sessionId: session.id, confirmed: false, config });
  }

  /** stop timers (device removed from a simulator) */
  dispose(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    for (const s of [...this.sessions.values()]) s.terminate('device disposed');
  }
}

/** One NETCONF session on the server side. */
export class ServerSession {
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
    private readonly server: NetconfServer,
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

function childTextOf(el: XmlElement): string {
  return el.children.map((c) => (c.type === 'text' ? c.value : '')).join('').trim();
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

// ---------------------------------------------------------------- built-in operations

function datastoreOf(el: XmlElement | undefined, what: string, allowed: DatastoreName[]): DatastoreName {
  const d = elements(el)[0];
  if (!d) throw new RpcError('missing-element', `${what} has no datastore`, { type: 'protocol', info: { 'bad-element': what } });
  if (!(allowed as string[]).includes(d.name)) {
    throw new RpcError('invalid-value', `${what} ${d.name} is not supported (use ${allowed.join(' or ')})`, {
      type: 'protocol',
      path: `/rpc/${what}/${d.name}`,
    });
  }
  return d.name as DatastoreName;
}

function checkNotLockedByOther(device: NetconfDevice, ds: DatastoreName, session: ServerSession): void {
  const holder = device.locks[ds];
  if (holder !== undefined && holder !== session.id) {
    throw new RpcError('in-use', `${ds} is locked by session ${holder}`, { type: 'protocol', info: { 'session-id': String(holder) } });
  }
}

function filterOf(op: XmlElement): string | undefined {
  const f = child(op, 'filter');
  if (!f) return undefined;
  const type = f.attrs.type ?? Object.entries(f.attrs).find(([k]) => k.endsWith(':type'))?.[1] ?? 'subtree';
  if (type !== 'subtree') throw new RpcError('operation-not-supported', `filter type ${type} is not supported`, { type: 'protocol' });
  return innerXml(f);
}

function readSource(device: NetconfDevice, op: XmlElement, what: string): string {
  const src = child(op, 'source');
  const d = elements(src)[0];
  if (d?.name === 'config') return innerXml(d);
  return device[datastoreOf(src, what === 'validate' ? 'source' : 'source', ['running', 'candidate'])];
}

function intIn(op: XmlElement, name: string, def: number, path: string): number {
  const t = childText(op, name);
  if (t === undefined) return def;
  const n = Number(t);
  if (!/^\d+$/.test(t) || n <= 0 || n > 0xffffffff) throw new RpcError('invalid-value', `${name} must be a positive integer, got '${t}'`, { type: 'protocol', path });
  return n;
}

const builtins: Record<string, RpcHandler> = {
  'get-config': ({ device, op }) => {
    const ds = datastoreOf(child(op, 'source'), 'source', ['running', 'candidate']);
    const f = filterOf(op);
    const cfg = device[ds];
    return { data: f === undefined ? cfg : subtreeFilter(cfg, f) };
  },
  get: async ({ device, session, op }) => {
    const f = filterOf(op);
    const state = (await device.hooks.getState?.({ device, session })) ?? '';
    const all = device.running + state;
    return { data: f === undefined ? all : subtreeFilter(all, f) };
  },
  'edit-config': ({ device, session, op }) =>
    device.exclusive(() => {
      const ds = datastoreOf(child(op, 'target'), 'target', device.writableRunning ? ['candidate', 'running'] : ['candidate']);
      checkNotLockedByOther(device, ds, session);
      const defOp = (childText(op, 'default-operation') ?? 'merge') as 'merge' | 'replace' | 'none';
      if (!['merge', 'replace', 'none'].includes(defOp)) {
        throw new RpcError('invalid-value', `default-operation '${defOp}' is not merge, replace or none`, { type: 'protocol' });
      }
      const cfg = child(op, 'config');
      if (!cfg) {
        if (child(op, 'url')) throw new RpcError('operation-not-supported', 'edit-config from url is not supported', { type: 'protocol' });
        throw new RpcError('missing-element', 'edit-config has no config', { type: 'protocol', info: { 'bad-element': 'config' } });
      }
      const next = mergeConfig(device[ds], innerXml(cfg), defOp);
      if (ds === 'candidate') {
        device.candidate = next;
        device.candidateDirty = next !== device.running || device.candidateDirty;
        return;
      }
      return device.commitRunningDirect(next, session);
    }),
  'copy-config': ({ device, session, op }) =>
    device.exclusive(async () => {
      const target = datastoreOf(child(op, 'target'), 'target', device.writableRunning ? ['candidate', 'running'] : ['candidate']);
      checkNotLockedByOther(device, target, session);
      const src = readSource(device, op, 'copy-config');
      if (target === 'candidate') {
        device.candidate = src;
        device.candidateDirty = src !== device.running;
        return;
      }
      await device.commitRunningDirect(src, session);
    }),
  lock: ({ device, session, op }) => {
    const ds = datastoreOf(child(op, 'target'), 'target', ['running', 'candidate']);
    const holder = device.locks[ds];
    if (holder !== undefined) {
      throw new RpcError('lock-denied', `${ds} is already locked by session ${holder}`, { type: 'protocol', info: { 'session-id': String(holder) } });
    }
    if (ds === 'candidate' && device.candidateDirty) {
      throw new RpcError('lock-denied', 'candidate has uncommitted changes; discard-changes first', { type: 'protocol', info: { 'session-id': '0' } });
    }
    device.locks[ds] = session.id;
  },
  unlock: ({ device, session, op }) => {
    const ds = datastoreOf(child(op, 'target'), 'target', ['running', 'candidate']);
    if (device.locks[ds] !== session.id) {
      throw new RpcError('operation-failed', `${ds} is not locked by this session`, { type: 'protocol' });
    }
    delete device.locks[ds];
  },
  validate: async ({ device, session, op }) => {
    const cfg = readSource(device, op, 'validate');
    await device.hooks.validate?.(cfg, { device, session });
  },
  commit: ({ device, session, op }) =>
    device.exclusive(() => {
      const confirmed = child(op, 'confirmed') !== undefined;
      const timeoutS = intIn(op, 'confirm-timeout', 600, '/rpc/commit/confirm-timeout');
      const persist = childText(op, 'persist');
      const persistId = childText(op, 'persist-id');
      return device.commit(session, { confirmed, timeoutMs: timeoutS * 1000, persist, persistId });
    }),
  'cancel-commit': ({ device, session, op }) =>
    device.exclusive(async () => {
      const p = device.pending;
      if (!p) throw new RpcError('operation-failed', 'no confirmed commit is pending', { type: 'protocol' });
      const persistId = childText(op, 'persist-id');
      if (p.persist !== undefined && p.persist !== JUNOS_PERSIST) {
        if (persistId !== p.persist) throw new RpcError('invalid-value', 'persist-id does not match the pending confirmed commit', { type: 'protocol' });
      } else if (p.persist === undefined && p.sessionId !== session.id) {
        throw new RpcError('in-use', `the pending confirmed commit belongs to session ${p.sessionId}`, { type: 'protocol' });
      }
      await device.rollbackPending('cancel-commit', session);
    }),
  'discard-changes': ({ device, session }) =>
    device.exclusive(() => {
      checkNotLockedByOther(device, 'candidate', session);
      device.candidate = device.running;
      device.candidateDirty = false;
    }),
  'close-session': () => undefined,
  'kill-session': ({ device, session, op }) => {
    const t = childText(op, 'session-id');
    const id = Number(t);
    if (!t || !Number.isInteger(id)) throw new RpcError('missing-element', 'kill-session needs session-id', { type: 'protocol', info: { 'bad-element': 'session-id' } });
    if (id === session.id) throw new RpcError('invalid-value', 'a session cannot kill itself (use close-session)', { type: 'protocol' });
    const victim = device.sessions.get(id);
    if (!victim) throw new RpcError('invalid-value', `no session ${id}`, { type: 'protocol' });
    victim.terminate(`killed by session ${session.id}`);
  },
};

/** How one device loads each `load-configuration` format into a new candidate. */
export interface LoadConfigurationFormats {
  /** format="text": the `<configuration-text>` element */
  text(ctx: RpcContext, configurationText: XmlElement, action: string): string | Promise<string>;
  /** format="xml" */
  xml(ctx: RpcContext, action: string): string;
  /** accept rollback="N" (the candidate becomes rollback N, as on Junos) */
  rollback?: boolean;
}

/**
 * Junos-style `<load-configuration action="merge|replace|override|update" format="xml|text">`:
 * the candidate lock, the action and format checks and the candidate update are the same for
 * every device; what each format means is the device's (the Junos builtin, the twin's agent).
 */
export function loadConfigurationHandler(formats: LoadConfigurationFormats): RpcHandler {
  return (ctx) =>
    ctx.device.exclusive(async () => {
      const { device, session, op } = ctx;
      checkNotLockedByOther(device, 'candidate', session);
      let next: string;
      const rb = op.attrs.rollback;
      if (formats.rollback && rb !== undefined) {
        const cfg = device.rollbackConfig(Number(rb));
        if (cfg === undefined) throw new RpcError('invalid-value', `rollback ${rb} does not exist`, { path: '/rpc/load-configuration' });
        next = cfg;
      } else {
        const action = op.attrs.action ?? 'merge';
        const format = op.attrs.format ?? 'xml';
        if (!['merge', 'replace', 'override', 'update'].includes(action)) {
          throw new RpcError('invalid-value', `load-configuration action '${action}' is not supported`, { path: '/rpc/load-configuration' });
        }
        if (format === 'text') {
          const t = child(op, 'configuration-text');
          if (!t) throw new RpcError('missing-element', 'format="text" needs <configuration-text>', { info: { 'bad-element': 'configuration-text' } });
          next = await formats.text(ctx, t, action);
        } else if (format === 'xml') {
          next = formats.xml(ctx, action);
        } else {
          throw new RpcError('invalid-value', `load-configuration format '${format}' is not supported (xml, text)`, { path: '/rpc/load-configuration' });
        }
      }
      device.candidate = next;
      device.candidateDirty = next !== device.running;
      return { xml: '<load-configuration-results><ok/></load-configuration-results>' };
    });
}

// Junos RPCs (enabled with `junos: true`).
const junosBuiltins: Record<string, RpcHandler> = {
  'load-configuration': loadConfigurationHandler({
    rollback: true,
    text: ({ device, session }, t, action) => {
      const text = childTextOf(t);
      return device.hooks.loadText
        ? device.hooks.loadText(device.candidate, text, action, { device, session })
        : `<configuration-text>${escapeText(text)}</configuration-text>`;
    },
    xml: ({ device, op }, action) => {
      const c = child(op, 'configuration');
      if (!c) throw new RpcError('missing-element', 'format="xml" needs <configuration>', { info: { 'bad-element': 'configuration' } });
      return action === 'override' || action === 'update' ? mergeConfig('', outerXml(c), 'replace') : mergeConfig(device.candidate, outerXml(c), 'merge');
    },
  }),
  'get-configuration': ({ device, op }) => {
    if (op.attrs.compare === 'rollback') {
      const n = Number(op.attrs.rollback ?? '0');
      const base = device.rollbackConfig(n);
      if (base === undefined) throw new RpcError('invalid-value', `rollback ${n} does not exist`, { path: '/rpc/get-configuration' });
      const diff = diffConfig(base, device.candidate, [`rollback ${n}`, 'candidate']);
      return { xml: `<configuration-information><configuration-output>${escapeText(diff)}</configuration-output></configuration-information>` };
    }
    const db = op.attrs.database ?? 'candidate';
    const cfg = db === 'committed' ? device.running : device.candidate;
    return { xml: cfg.trim() === '' ? '<configuration/>' : cfg };
  },
  'commit-configuration': ({ device, session, op }) =>
    device.exclusive(async () => {
      const ok = '<commit-results><routing-engine><name>re0</name><commit-success/></routing-engine></commit-results>';
      if (child(op, 'check')) {
        await device.hooks.validate?.(device.candidate, { device, session });
        return { xml: '<commit-results><routing-engine><name>re0</name><commit-check-success/></routing-engine></commit-results>' };
      }
      const confirmed = child(op, 'confirmed') !== undefined;
      const minutes = intIn(op, 'confirm-timeout', 10, '/rpc/commit-configuration/confirm-timeout');
      // Junos confirmed commits are not bound to the session: any commit confirms them
      await device.commit(session, { confirmed, timeoutMs: minutes * device.junosMinuteMs, persist: confirmed ? JUNOS_PERSIST : undefined });
      return { xml: ok };
    }),
  'lock-configuration': (ctx) => builtins.lock({ ...ctx, op: parseXml('<lock><target><candidate/></target></lock>') }),
  'unlock-configuration': (ctx) => builtins.unlock({ ...ctx, op: parseXml('<unlock><target><candidate/></target></unlock>') }),
  'get-system-information': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<system-information><hardware-model>${escapeText(f.model)}</hardware-model><os-name>${escapeText(f.osName ?? 'junos')}</os-name><os-version>${escapeText(f.osVersion)}</os-version><serial-number>${escapeText(f.serial)}</serial-number><host-name>${escapeText(f.hostname)}</host-name></system-information>`,
    };
  },
  'get-chassis-inventory': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<chassis-inventory><chassis><name>Chassis</name><serial-number>${escapeText(f.serial)}</serial-number><description>${escapeText(f.model.toUpperCase())}</description></chassis></chassis-inventory>`,
    };
  },
  'get-software-information': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<software-information><host-name>${escapeText(f.hostname)}</host-name><product-model>${escapeText(f.model)}</product-model><product-name>${escapeText(f.model)}</product-name><junos-version>${escapeText(f.osVersion)}</junos-version></software-information>`,
    };
  },
};

function factsOf(device: NetconfDevice): DeviceFacts {
  if (!device.facts) throw new RpcError('operation-failed', 'device has no facts configured');
  return device.facts;
}

function builtinFor(device: NetconfDevice, name: string): RpcHandler | undefined {
  if (Object.prototype.hasOwnProperty.call(builtins, name)) return builtins[name];
  if (device.junos && Object.prototype.hasOwnProperty.call(junosBuiltins, name)) return junosBuiltins[name];
  return undefined;
}

// ---------------------------------------------------------------- SSH server

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

/** Ed25519 host key generation (~0.1 ms) */
/**
 * An Ed25519 host key ssh2 can read back: about 1 in 200 keys from ssh2's own generator fails
 * its parser ("Malformed OpenSSH private key"), so draw again (bounded).
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
