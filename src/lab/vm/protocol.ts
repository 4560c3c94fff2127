// Wire format of the control channel between the host and the VM's guest agent.
// One TCP connection per command (user-mode networking forwards 127.0.0.1:<port> on the host
// to the agent in the guest); frames are [type: 1 byte][length: u32 BE][payload].
//   host -> guest: 'A' token, 'R' request JSON, 'I' stdin bytes, 'E' end of stdin, 'K' signal name
//   guest -> host: 'O' stdout bytes, 'X' stderr bytes, 'F' spawn failure text, 'C' exit JSON
export const FRAME = {
  auth: 0x41, // A
  request: 0x52, // R
  stdin: 0x49, // I
  stdinEnd: 0x45, // E
  kill: 0x4b, // K
  stdout: 0x4f, // O
  stderr: 0x58, // X
  failure: 0x46, // F
  exit: 0x43, // C
} as const;

/** Largest frame either side accepts (a runaway peer cannot make the other buffer forever). */
export const MAX_FRAME = 16 * 1024 * 1024;

export interface GuestRequest {
  argv: string[];
  /** Network namespace inside the guest to run in (`ip netns exec`). */
  netns?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** The guest kills the command (SIGKILL) after this many ms. */
  timeoutMs?: number;
}

export interface GuestExit {
  code: number | null;
  signal: string | null;
  timedOut?: boolean;
}

export function frame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Incremental frame parser: feed chunks, get whole frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { type: number; payload: Buffer }[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_FRAME) throw new Error(`control channel: frame of ${len} bytes exceeds ${MAX_FRAME}`);
      if (this.buf.length < 5 + len) break;
      out.push({ type: this.buf[0], payload: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}
