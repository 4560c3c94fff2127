/**
 * Typed NETCONF errors. Every client-side error names the device (a device id or host:port)
 * and what happened, in one line.
 */

export type RpcErrorType = 'transport' | 'rpc' | 'protocol' | 'application';
export type RpcErrorSeverity = 'error' | 'warning';
/** RFC 6241 Appendix A error-tag values (other strings are kept as sent) */
export type RpcErrorTag =
  | 'in-use'
  | 'invalid-value'
  | 'too-big'
  | 'missing-attribute'
  | 'bad-attribute'
  | 'unknown-attribute'
  | 'missing-element'
  | 'bad-element'
  | 'unknown-element'
  | 'unknown-namespace'
  | 'access-denied'
  | 'lock-denied'
  | 'resource-denied'
  | 'rollback-failed'
  | 'data-exists'
  | 'data-missing'
  | 'operation-not-supported'
  | 'operation-failed'
  | 'partial-operation'
  | 'malformed-message'
  | (string & {});

/** One `<rpc-error>` element. */
export interface RpcErrorInfo {
  type: RpcErrorType | (string & {});
  tag: RpcErrorTag;
  severity: RpcErrorSeverity;
  /** error-app-tag */
  appTag?: string;
  /** error-path */
  path?: string;
  /** error-message */
  message?: string;
  /** error-info children as name -> text (e.g. session-id, bad-element) */
  info?: Record<string, string>;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}...` : s);

/** Base class: every NETCONF failure the client raises. */
export class NetconfError extends Error {
  /** device id or host:port */
  readonly device: string;
  constructor(device: string, message: string) {
    super(`${device}: ${message}`);
    this.name = 'NetconfError';
    this.device = device;
  }
}

/** TCP/SSH connect failed, or took longer than the connect timeout. */
export class NetconfConnectError extends NetconfError {
  readonly cause?: unknown;
  constructor(device: string, message: string, cause?: unknown) {
    super(device, message);
    this.name = 'NetconfConnectError';
    this.cause = cause;
  }
}

/** The device refused our credentials. */
export class NetconfAuthError extends NetconfError {
  constructor(device: string, message: string) {
    super(device, message);
    this.name = 'NetconfAuthError';
  }
}

/** The device presented a host key different from the one pinned for it. */
export class HostKeyChangedError extends NetconfError {
  readonly expected: string;
  readonly actual: string;
  constructor(device: string, expected: string, actual: string) {
    super(
      device,
      `SSH host key changed (pinned ${expected}, presented ${actual}); refusing to connect. If the device was replaced (RMA), reset its pinned key`,
    );
    this.name = 'HostKeyChangedError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** An RPC got no reply within its timeout (the session is closed: its state is unknown). */
export class NetconfTimeoutError extends NetconfError {
  readonly operation: string;
  constructor(device: string, operation: string, message: string) {
    super(device, message);
    this.name = 'NetconfTimeoutError';
    this.operation = operation;
  }
}

/** The peer broke the protocol: bad framing, unparsable XML, unknown message-id, bad hello. */
export class NetconfProtocolError extends NetconfError {
  /**
   * FramingError code (GARBAGE, CHUNK_TOO_LARGE, MESSAGE_TOO_LARGE), or 'XML', 'HELLO' (bad,
   * missing session-id, larger than maxHelloSize), 'UNKNOWN_MESSAGE_ID', 'DUPLICATE_MESSAGE_ID',
   * 'REPLY' (not an rpc-reply), 'INTERNAL'
   */
  readonly code: string;
  constructor(device: string, code: string, message: string) {
    super(device, message);
    this.name = 'NetconfProtocolError';
    this.code = code;
  }
}

/** The session ended (peer closed, mid-reply or not, or we closed it) while work was pending. */
export class NetconfSessionClosedError extends NetconfError {
  readonly operation?: string;
  constructor(device: string, message: string, operation?: string) {
    super(device, message);
    this.name = 'NetconfSessionClosedError';
    this.operation = operation;
  }
}

/** The device answered an RPC with one or more `<rpc-error>` of severity error. */
export class NetconfRpcError extends NetconfError {
  readonly operation: string;
  readonly errors: RpcErrorInfo[];
  readonly warnings: RpcErrorInfo[];
  /** first error, for convenience */
  readonly type: string;
  readonly tag: string;
  readonly severity: RpcErrorSeverity;
  readonly path?: string;
  readonly rpcMessage?: string;
  readonly info?: Record<string, string>;
  constructor(device: string, operation: string, errors: RpcErrorInfo[], warnings: RpcErrorInfo[] = []) {
    const first = errors[0] ?? { type: 'rpc', tag: 'operation-failed', severity: 'error' as const };
    // what the device wrote is bounded here: the message goes to logs and job records
    const detail = clip(errors
      .slice(0, 5)
      .map((e) => `${clip(e.tag, 64)} (${clip(e.type, 32)})${e.path ? ` at ${clip(e.path, 200)}` : ''}${e.message ? `: ${clip(e.message, 400)}` : ''}`)
      .join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : ''), 2000);
    super(device, `${operation} failed: ${detail || 'rpc-error'}`);
    this.name = 'NetconfRpcError';
    this.operation = operation;
    this.errors = errors;
    this.warnings = warnings;
    this.type = first.type;
    this.tag = first.tag;
    this.severity = first.severity;
    this.path = first.path;
    this.rpcMessage = first.message;
    this.info = first.info;
  }
}

/**
 * Thrown by server-side RPC handlers and hooks to answer with `<rpc-error>`.
 * A plain Error thrown by a hook becomes operation-failed with its message.
 */
export class RpcError extends Error {
  readonly errors: RpcErrorInfo[];
  constructor(tag: RpcErrorTag, message: string, opts: Partial<Omit<RpcErrorInfo, 'tag' | 'message'>> = {}) {
    super(message);
    this.name = 'RpcError';
    this.errors = [{ type: opts.type ?? 'application', tag, severity: opts.severity ?? 'error', message, ...opts }];
  }
  static many(errors: RpcErrorInfo[]): RpcError {
    const e = new RpcError(errors[0]?.tag ?? 'operation-failed', errors[0]?.message ?? 'error');
    (e as { errors: RpcErrorInfo[] }).errors = errors;
    return e;
  }
}
