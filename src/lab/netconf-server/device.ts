/**
 * One NETCONF device's datastores: running and candidate (each an opaque XML fragment, the inner
 * XML of `<config>`), locks, the sessions, the pending confirmed commit with its timer, the
 * rollback history, and the hooks through which a device agent validates and applies a
 * configuration. The RPC handlers (operations.ts, junos.ts) and the session (session.ts) call
 * it; it knows nothing of SSH or framing. A device agent that stores text (frr.conf,
 * /etc/network/interfaces) wraps it in its own elements and parses them in `apply`.
 *
 * Confirmed commit follows RFC 6241 §8.4 (confirmed-commit:1.1): the configuration before the
 * first confirmed commit is kept; a confirming commit (same session, or persist-id) makes the
 * change permanent; cancel-commit, the timer, or the issuing session ending (without persist)
 * restores it through `apply(previous)`.
 */
import { EventEmitter } from 'node:events';
import { RpcError, RpcErrorInfo } from '../../netconf/errors';
import type { XmlElement } from '../../netconf/xml';

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

/**
 * What the device and the handlers see of a session. ServerSession (session.ts) is the one
 * implementation; an interface so that this module does not import the session module.
 */
export interface DeviceSession {
  readonly id: number;
  readonly username: string;
  readonly remote: string;
  /** end the session: releases its locks, may roll back its confirmed commit */
  terminate(reason: string): void;
}

export interface HookContext {
  device: NetconfDevice;
  /** the session asking, absent for timer-driven rollbacks */
  session?: DeviceSession;
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
  session: DeviceSession;
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
export const JUNOS_PERSIST = '\u0000junos';

export class NetconfDevice extends EventEmitter {
  readonly id: string;
  running: string;
  candidate: string;
  /** candidate edited and not yet committed or discarded */
  candidateDirty = false;
  readonly locks: Partial<Record<DatastoreName, number>> = {};
  readonly sessions = new Map<number, DeviceSession>();
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
    session: DeviceSession | undefined,
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
  async rollbackPending(reason: 'timeout' | 'cancel-commit' | 'session-end', session?: DeviceSession): Promise<void> {
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
  async sessionEnded(session: DeviceSession, reason: string): Promise<void> {
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
  async commitRunningDirect(config: string, session: DeviceSession): Promise<void> {
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

/** refuse a change to `ds` while another session holds its lock */
export function checkNotLockedByOther(device: NetconfDevice, ds: DatastoreName, session: DeviceSession): void {
  const holder = device.locks[ds];
  if (holder !== undefined && holder !== session.id) {
    throw new RpcError('in-use', `${ds} is locked by session ${holder}`, { type: 'protocol', info: { 'session-id': String(holder) } });
  }
}
