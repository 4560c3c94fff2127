/**
 * NETCONF over SSH message framing (RFC 6242), as a dependency-free streaming codec.
 *
 * Two framings:
 *  - `eom`     (base:1.0): every message ends with `]]>]]>`.
 *  - `chunked` (base:1.1): a message is one or more chunks `\n#<len>\n<len bytes>` followed by
 *                          the end-of-chunks marker `\n##\n`.
 *
 * Both peers start in `eom` for the `<hello>`; when both hellos advertise base:1.1, every later
 * message uses `chunked`. Because the peer's hello and its first chunked message may arrive in
 * the same read, the decoder calls `onMessage` synchronously for each message, and a
 * `setMode()` made inside that callback applies to the rest of the same buffer.
 *
 * Limits guard against hostile peers: a chunk header larger than `maxChunkSize`, or a message
 * (all chunks, or eom bytes before the delimiter) larger than `maxMessageSize`, fails with a
 * typed `FramingError` before the bytes are buffered. After any error the decoder stays failed
 * (every later push throws the same error): the session must be closed.
 *
 * Used by the NETCONF client and server core in this directory and by the twin's device agent.
 */

export type FramingMode = 'eom' | 'chunked';

export type FramingErrorCode =
  /** bytes that do not follow the chunked grammar (missing LF/#, bad size digits) */
  | 'GARBAGE'
  /** a chunk header announces more than maxChunkSize bytes (or more than 2^32-1) */
  | 'CHUNK_TOO_LARGE'
  /** a message grows beyond maxMessageSize */
  | 'MESSAGE_TOO_LARGE'
  /** encode(): an eom message that contains the delimiter itself */
  | 'DELIMITER_IN_MESSAGE';

export class FramingError extends Error {
  readonly code: FramingErrorCode;
  /** byte offset in the stream (since decoder creation) where the problem was seen */
  readonly offset: number;
  constructor(code: FramingErrorCode, message: string, offset = -1) {
    super(message);
    this.name = 'FramingError';
    this.code = code;
    this.offset = offset;
  }
}

export const EOM_DELIMITER = ']]>]]>';
const EOM = Buffer.from(EOM_DELIMITER, 'latin1');
/** RFC 6242: chunk-size is 1..4294967295 */
const MAX_RFC_CHUNK = 4294967295;

export interface FramingDecoderOptions {
  /** initial mode, default 'eom' (the hello is always eom) */
  mode?: FramingMode;
  /** largest chunk header accepted, bytes (default 16 MiB) */
  maxChunkSize?: number;
  /** largest message accepted, bytes (default 64 MiB) */
  maxMessageSize?: number;
  /** called synchronously for each complete message, in order */
  onMessage?: (message: string) => void;
}

/** A growable byte buffer: amortised O(n) appends without Buffer.concat on every read. */
class ByteAccumulator {
  private buf: Buffer;
  length = 0;
  constructor(initial = 4096) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.length + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + n) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    src.copy(this.buf, this.length, start, end);
    this.length += n;
  }
  /** index of `needle` at or after `from`, or -1 */
  indexOf(needle: Buffer, from: number): number {
    return this.buf.subarray(0, this.length).indexOf(needle, from);
  }
  take(n: number): string {
    return this.buf.toString('utf8', 0, n);
  }
  /** drop the first n bytes, keep the rest */
  consume(n: number): void {
    if (n >= this.length) {
      this.length = 0;
      if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(4096); // give back big buffers
      return;
    }
    this.buf.copy(this.buf, 0, n, this.length);
    this.length -= n;
  }
  reset(): void {
    this.consume(this.length);
  }
  /** a copy of the buffered raw bytes */
  copyOut(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** chunked-mode parser states */
const enum S {
  /** before a chunk header: expect LF (leading whitespace allowed before a message's first chunk) */
  LF = 0,
  /** expect '#' */
  HASH = 1,
  /** after "\n#": a non-zero digit (chunk) or '#' (end of chunks) */
  SIZE_FIRST = 2,
  /** more size digits or the LF ending the header */
  SIZE = 3,
  /** inside chunk data */
  DATA = 4,
  /** after "\n##": expect LF */
  END_LF = 5,
}

export class FramingDecoder {
  private modeValue: FramingMode;
  readonly maxChunkSize: number;
  private maxMessage: number;
  private onMessage?: (message: string) => void;
  private acc = new ByteAccumulator();
  /** eom: where the next delimiter search starts */
  private scanFrom = 0;
  /** chunked state */
  private state: S = S.LF;
  private chunksInMessage = 0;
  private sizeDigits = '';
  private remaining = 0;
  private failed?: FramingError;
  /** total bytes pushed, for error offsets */
  private streamOffset = 0;
  private messagesOut = 0;

  constructor(opts: FramingDecoderOptions = {}) {
    this.modeValue = opts.mode ?? 'eom';
    this.maxChunkSize = opts.maxChunkSize ?? 16 * 1024 * 1024;
    this.maxMessage = opts.maxMessageSize ?? 64 * 1024 * 1024;
    this.onMessage = opts.onMessage;
  }

  get mode(): FramingMode {
    return this.modeValue;
  }

  /** largest message accepted, bytes */
  get maxMessageSize(): number {
    return this.maxMessage;
  }

  /**
   * Change the message limit between messages (a client reads the peer's hello under a small
   * limit, then its replies under the large one). Applies to the next bytes pushed.
   */
  setMaxMessageSize(n: number): void {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`maxMessageSize must be a positive integer, got ${n}`);
    this.maxMessage = n;
  }

  /** number of complete messages emitted so far */
  get messageCount(): number {
    return this.messagesOut;
  }

  /** true when bytes of an unfinished message are buffered (e.g. the peer closed mid-reply) */
  get hasPartial(): boolean {
    if (this.modeValue === 'eom') return this.acc.length > 0 && this.acc.take(this.acc.length).trim().length > 0;
    return this.state !== S.LF || this.chunksInMessage > 0 || this.acc.length > 0;
  }

  /**
   * Switch framing. Call it between messages (typically inside onMessage for the hello);
   * bytes already buffered but not yet part of a message are re-read in the new mode.
   */
  setMode(mode: FramingMode): void {
    if (mode === this.modeValue) return;
    if (this.modeValue === 'chunked' && (this.state !== S.LF || this.chunksInMessage > 0)) {
      throw new Error('FramingDecoder.setMode: cannot switch inside a chunked message');
    }
    this.modeValue = mode;
    this.scanFrom = 0;
    this.state = S.LF;
    this.chunksInMessage = 0;
  }

  /**
   * Feed bytes. Emits each complete message through onMessage (synchronously) and also
   * returns them. Throws FramingError on a framing violation (and on every call after one).
   */
  push(chunk: Buffer | string): string[] {
    if (this.failed) throw this.failed;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: string[] = [];
    try {
      this.feed(buf, out);
    } catch (e) {
      if (e instanceof FramingError) this.failed = e;
      throw e;
    } finally {
      this.streamOffset += buf.length;
    }
    return out;
  }

  private emit(msg: string, out: string[]): void {
    this.messagesOut++;
    out.push(msg);
    this.onMessage?.(msg);
  }

  private fail(code: FramingErrorCode, message: string, at: number): never {
    throw new FramingError(code, message, at);
  }

  private feed(buf: Buffer, out: string[]): void {
    let pending: Buffer | undefined = buf;
    // Each pass consumes `pending` in the current mode; a mode switch made in onMessage
    // returns the unread bytes, which the next pass reads in the new mode.
    while (pending && pending.length > 0) {
      if (this.modeValue === 'eom') {
        this.acc.append(pending, 0, pending.length);
        pending = this.drainEom(out);
      } else {
        pending = this.feedChunked(pending, out);
      }
    }
  }

  /** emit every complete eom message in the accumulator; returns leftover bytes on a mode switch */
  private drainEom(out: string[]): Buffer | undefined {
    for (;;) {
      const i = this.acc.indexOf(EOM, this.scanFrom);
      if (i < 0) {
        this.scanFrom = Math.max(0, this.acc.length - (EOM.length - 1));
        if (this.acc.length > this.maxMessage) {
          this.fail(
            'MESSAGE_TOO_LARGE',
            `NETCONF message exceeds ${this.maxMessage} bytes without an end-of-message delimiter`,
            this.streamOffset,
          );
        }
        return undefined;
      }
      if (i > this.maxMessage) {
        this.fail('MESSAGE_TOO_LARGE', `NETCONF message of ${i} bytes exceeds ${this.maxMessage}`, this.streamOffset);
      }
      const msg = this.acc.take(i);
      this.acc.consume(i + EOM.length);
      this.scanFrom = 0;
      this.emit(msg, out);
      if (this.modeValue !== 'eom') {
        const rest = this.acc.copyOut();
        this.acc.reset();
        return rest;
      }
    }
  }

  /** parse chunked framing; returns the unread bytes if onMessage switched back to eom */
  private feedChunked(buf: Buffer, out: string[]): Buffer | undefined {
    let pos = 0;
    while (pos < buf.length) {
      const at = this.streamOffset + pos;
      if (this.state === S.DATA) {
        const n = Math.min(this.remaining, buf.length - pos);
        this.acc.append(buf, pos, pos + n);
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = S.LF;
        continue;
      }
      const c = buf[pos++];
      switch (this.state) {
        case S.LF:
          if (c === 0x0a) this.state = S.HASH;
          else if (this.chunksInMessage === 0 && (c === 0x20 || c === 0x09 || c === 0x0d)) {
            /* tolerate whitespace between messages (some peers send a newline after the hello) */
          } else this.fail('GARBAGE', `chunked framing: expected LF before chunk header, got ${describeByte(c)}`, at);
          break;
        case S.HASH:
          if (c === 0x23) this.state = S.SIZE_FIRST;
          else if (c === 0x0a && this.chunksInMessage === 0) {
            /* blank line between messages: stay */
          } else this.fail('GARBAGE', `chunked framing: expected '#' in chunk header, got ${describeByte(c)}`, at);
          break;
        case S.SIZE_FIRST:
          if (c >= 0x31 && c <= 0x39) {
            this.sizeDigits = String.fromCharCode(c);
            this.state = S.SIZE;
          } else if (c === 0x23) {
            if (this.chunksInMessage === 0) this.fail('GARBAGE', 'chunked framing: end-of-chunks marker before any chunk', at);
            this.state = S.END_LF;
          } else this.fail('GARBAGE', `chunked framing: bad chunk size start ${describeByte(c)}`, at);
          break;
        case S.SIZE:
          if (c >= 0x30 && c <= 0x39) {
            this.sizeDigits += String.fromCharCode(c);
            // Fail as soon as the digits alone exceed the limit: never wait for a huge header.
            if (this.sizeDigits.length > 10 || Number(this.sizeDigits) > Math.min(this.maxChunkSize, MAX_RFC_CHUNK)) {
              this.fail(
                'CHUNK_TOO_LARGE',
                `chunked framing: chunk size ${this.sizeDigits}${this.sizeDigits.length > 10 ? '...' : ''} exceeds limit ${this.maxChunkSize}`,
                at,
              );
            }
          } else if (c === 0x0a) {
            const size = Number(this.sizeDigits);
            if (this.acc.length + size > this.maxMessage) {
              this.fail(
                'MESSAGE_TOO_LARGE',
                `chunked framing: message would reach ${this.acc.length + size} bytes, limit ${this.maxMessage}`,
                at,
              );
            }
            this.remaining = size;
            this.chunksInMessage++;
            this.state = S.DATA;
          } else this.fail('GARBAGE', `chunked framing: bad character ${describeByte(c)} in chunk size`, at);
          break;
        case S.END_LF: {
          if (c !== 0x0a) this.fail('GARBAGE', `chunked framing: expected LF after '##', got ${describeByte(c)}`, at);
          const msg = this.acc.take(this.acc.length);
          this.acc.reset();
          this.state = S.LF;
          this.chunksInMessage = 0;
          this.emit(msg, out);
          if (this.modeValue !== 'chunked') return buf.subarray(pos);
          break;
        }
        default:
          break;
      }
    }
    return undefined;
  }
}

function describeByte(c: number): string {
  if (c >= 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `0x${c.toString(16).padStart(2, '0')}`;
}

export interface EncodeOptions {
  /** chunked: split the message into chunks of at most this many bytes (default 1 MiB) */
  maxChunkSize?: number;
}

/** Frame one message for the wire. */
export function encode(message: string | Buffer, mode: FramingMode, opts: EncodeOptions = {}): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  if (mode === 'eom') {
    if (body.indexOf(EOM) >= 0) {
      throw new FramingError('DELIMITER_IN_MESSAGE', `NETCONF base:1.0 message contains the '${EOM_DELIMITER}' delimiter`);
    }
    return Buffer.concat([body, EOM]);
  }
  const max = Math.max(1, Math.min(opts.maxChunkSize ?? 1024 * 1024, MAX_RFC_CHUNK));
  if (body.length === 0) throw new FramingError('GARBAGE', 'NETCONF base:1.1 cannot frame an empty message');
  const parts: Buffer[] = [];
  for (let off = 0; off < body.length; off += max) {
    const piece = body.subarray(off, Math.min(off + max, body.length));
    parts.push(Buffer.from(`\n#${piece.length}\n`, 'latin1'), piece);
  }
  parts.push(Buffer.from('\n##\n', 'latin1'));
  return Buffer.concat(parts);
}

/** Convenience: decode a whole byte string into messages (tests, tools). */
export function decodeAll(data: Buffer | string, mode: FramingMode, opts: Omit<FramingDecoderOptions, 'mode' | 'onMessage'> = {}): string[] {
  const d = new FramingDecoder({ ...opts, mode });
  return d.push(data);
}
