// Host side of the control channel: run a command in the VM over 127.0.0.1:<port>
// (user-mode networking forwards it to the guest agent; see protocol.ts).
import { connect, type Socket } from 'node:net';
import { FRAME, FrameReader, frame, type GuestExit, type GuestRequest } from './protocol';

export interface GuestRunResult extends GuestExit {
  stdout: string;
  stderr: string;
}

export interface GuestRunOptions extends Omit<GuestRequest, 'argv'> {
  /** Bytes for the command's stdin (then end of stdin). Ignored with `stdio: 'inherit'`. */
  input?: string | Buffer;
  /** 'inherit': stream to this process's stdout/stderr and forward its stdin. */
  stdio?: 'pipe' | 'inherit';
  /** Host-side bound: the connection is dropped (and the guest kills the command). */
  hostTimeoutMs?: number;
  /** Called with each whole line of stderr as it arrives (pipe mode; stderr is still collected). */
  onStderrLine?: (line: string) => void;
}

export class GuestChannel {
  constructor(
    readonly port: number,
    private readonly token: string,
    readonly host = '127.0.0.1',
  ) {}

  /** Runs argv in the guest; rejects only when the channel fails, not on a non-zero exit. */
  run(argv: string[], opts: GuestRunOptions = {}): Promise<GuestRunResult> {
    const { input, stdio = 'pipe', hostTimeoutMs, onStderrLine, ...req } = opts;
    return new Promise((resolve, reject) => {
      const sock: Socket = connect({ host: this.host, port: this.port });
      const reader = new FrameReader();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let exit: GuestExit | undefined;
      let failure = '';
      let settled = false;
      let partial = '';
      const inheritStdin = stdio === 'inherit';
      const onStdin = (d: Buffer) => sock.write(frame(FRAME.stdin, d));
      const onStdinEnd = () => sock.write(frame(FRAME.stdinEnd, ''));
      const timer = hostTimeoutMs
        ? setTimeout(() => settle(new Error(`control channel: no answer from the VM within ${hostTimeoutMs} ms for ${argv[0]}`)), hostTimeoutMs)
        : undefined;
      const settle = (e?: Error) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (inheritStdin) {
          process.stdin.off('data', onStdin);
          process.stdin.off('end', onStdinEnd);
          process.stdin.pause();
        }
        sock.destroy();
        if (e) reject(e);
        else if (!exit) reject(new Error(`control channel: the VM closed the connection before ${argv[0]} ended${failure ? `: ${failure}` : ''}`));
        else
          resolve({
            ...exit,
            code: exit.code ?? (failure ? 127 : null),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8') + (failure ? `${failure}\n` : ''),
          });
      };
      sock.on('connect', () => {
        sock.write(frame(FRAME.auth, this.token));
        sock.write(frame(FRAME.request, JSON.stringify({ ...req, argv })));
        if (inheritStdin) {
          process.stdin.on('data', onStdin);
          process.stdin.on('end', onStdinEnd);
          process.stdin.resume();
        } else {
          if (input !== undefined) {
            const buf = typeof input === 'string' ? Buffer.from(input) : input;
            for (let i = 0; i < buf.length; i += 1 << 20) sock.write(frame(FRAME.stdin, buf.subarray(i, i + (1 << 20))));
          }
          sock.write(frame(FRAME.stdinEnd, ''));
        }
      });
      sock.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = reader.push(chunk);
        } catch (e) {
          settle(e as Error);
          return;
        }
        for (const f of frames) {
          if (f.type === FRAME.stdout) {
            if (stdio === 'inherit') process.stdout.write(f.payload);
            else out.push(Buffer.from(f.payload));
          } else if (f.type === FRAME.stderr) {
            if (stdio === 'inherit') process.stderr.write(f.payload);
            else {
              err.push(Buffer.from(f.payload));
              if (onStderrLine) {
                const lines = (partial + f.payload.toString('utf8')).split('\n');
                partial = lines.pop() ?? '';
                for (const l of lines) onStderrLine(l);
              }
            }
          } else if (f.type === FRAME.failure) {
            failure = f.payload.toString('utf8');
            if (stdio === 'inherit') process.stderr.write(`${failure}\n`);
          } else if (f.type === FRAME.exit) {
            exit = JSON.parse(f.payload.toString('utf8')) as GuestExit;
          }
        }
      });
      sock.on('error', (e) => settle(new Error(`control channel ${this.host}:${this.port}: ${e.message}`)));
      sock.on('close', () => settle());
    });
  }

  /** Like run, but throws with the command's stderr when it exits non-zero. */
  async check(argv: string[], opts: GuestRunOptions = {}): Promise<string> {
    const r = await this.run(argv, opts);
    if (r.code !== 0) {
      const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`in the VM: ${argv.join(' ')} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}: ${why}`);
    }
    return r.stdout;
  }
}
