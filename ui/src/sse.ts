// Server-sent events read with fetch(), so the token goes in the Authorization header
// (EventSource cannot send one). The parser is pure (unit-tested); streamJob reconnects after
// a dropped connection, never sooner than a second, until the job has finished.

export interface SseEvent { event: string; data: string }

/** Feeds text chunks, returns the complete events (the spec's line rules: LF, CR LF, CR). */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone CR at the end may be the first half of CR LF: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      if (line === '') {
        if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }
}

export interface StreamHandlers {
  onEvent(e: SseEvent): void;
  /** A connection failed or dropped (the status, 0 for a network error); a 401/403/404 stops. */
  onError?(status: number, message: string): void;
}

/**
 * Reads `url` as an event stream until `signal` aborts or the server ends it with `end`.
 * Reconnects after 1 s, 2 s, 4 s ... (at most 15 s) when the connection drops.
 */
export async function readStream(url: string, token: string | undefined, h: StreamHandlers, signal: AbortSignal): Promise<void> {
  let delay = 1000;
  for (let attempt = 0; attempt < 10_000 && !signal.aborted; attempt++) {
    let ended = false;
    try {
      const res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        // the server says no-store; the token is the only credential
        signal, credentials: 'omit',
      });
      if (!res.ok || !res.body) {
        let msg = `${res.status} ${res.statusText}`;
        try { msg = ((await res.json()) as { message?: string }).message ?? msg; } catch { /* not JSON */ }
        h.onError?.(res.status, msg);
        if (res.status === 401 || res.status === 403 || res.status === 404) return;
      } else {
        const parser = new SseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(value)) {
            if (e.event === 'end') ended = true;
            h.onEvent(e);
          }
          delay = 1000;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      h.onError?.(0, (e as Error).message);
    }
    if (ended || signal.aborted) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15_000);
  }
}
