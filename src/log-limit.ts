// Rate limit for log lines a network peer can trigger (one per DHCP packet, one per ZTP
// request): a flood of bad packets must not become a flood of log lines. Lines are keyed by
// source (address, MAC) and kind (what went wrong); each key gets `burst` lines per interval,
// the rest are counted and reported in one line when the interval ends:
//   dhcp: 17999 more "malformed" lines from 10.0.0.5 suppressed in the last 10 s
// The number of keys is bounded too (a peer can forge a new source per packet): past
// `maxKeys`, new keys share one "other sources" key. Pure apart from one unref'd timer.

export interface LogLimitOptions {
  /** length of one window, ms (default 10 s) */
  intervalMs?: number;
  /** lines per key per window (default 1) */
  burst?: number;
  /** distinct source+kind keys per window (default 256); beyond, keys share one */
  maxKeys?: number;
  /** prefix of the summary lines, e.g. "dhcp: " */
  prefix?: string;
}

export interface LimitedLine {
  source: string;
  kind: string;
  /** set on a summary line: how many lines of this key were left out */
  suppressed?: number;
}

export type LimitedSink = (line: string, meta: LimitedLine) => void;

interface Entry { source: string; kind: string; logged: number; suppressed: number }

const OTHER = { source: 'other sources', kind: 'any' };

export class LogLimiter {
  private readonly intervalMs: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly prefix: string;
  private keys = new Map<string, Entry>();
  private overflow?: Entry;
  private timer?: NodeJS.Timeout;
  /** lines written and left out since creation (tests, metrics) */
  readonly totals = { logged: 0, suppressed: 0, summaries: 0 };

  constructor(private readonly sink: LimitedSink, opts: LogLimitOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.burst = opts.burst ?? 1;
    this.maxKeys = opts.maxKeys ?? 256;
    this.prefix = opts.prefix ?? '';
  }

  /**
   * Writes `line` unless its key has used its burst in this window; returns whether it was
   * written. Pass a function to skip building the text of a line that is left out.
   */
  log(source: string, kind: string, line: string | (() => string)): boolean {
    const key = `${kind}\u0000${source}`;
    let e = this.keys.get(key);
    if (!e) {
      if (this.keys.size < this.maxKeys) {
        e = { source, kind, logged: 0, suppressed: 0 };
        this.keys.set(key, e);
      } else {
        e = this.overflow ??= { ...OTHER, logged: 0, suppressed: 0 };
      }
      this.arm();
    }
    if (e.logged < this.burst) {
      e.logged++;
      this.totals.logged++;
      this.sink(typeof line === 'string' ? line : line(), { source, kind });
      return true;
    }
    e.suppressed++;
    this.totals.suppressed++;
    return false;
  }

  /** Reports every pending count now and starts a new window (tests; before stopping). */
  flush(): void {
    const entries = [...this.keys.values()];
    if (this.overflow) entries.push(this.overflow);
    this.keys = new Map();
    this.overflow = undefined;
    const secs = Math.round(this.intervalMs / 1000);
    for (const e of entries) {
      if (e.suppressed === 0) continue;
      this.totals.summaries++;
      this.sink(`${this.prefix}${e.suppressed} more "${e.kind}" lines from ${e.source} suppressed in the last ${secs} s`, {
        source: e.source, kind: e.kind, suppressed: e.suppressed,
      });
    }
  }

  /** Flushes and stops the timer. */
  stop(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** keys tracked in the current window */
  get size(): number {
    return this.keys.size + (this.overflow ? 1 : 0);
  }

  // The timer runs only while keys are tracked; windows are global (all keys end together).
  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const idle = this.size === 0;
      this.flush();
      if (idle && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, this.intervalMs);
    this.timer.unref();
  }
}
