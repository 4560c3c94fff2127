// Following a job live: the service's server-sent events (GET /jobs/{id}/stream: `job`, then
// `patch` per change, `end`), drawn as a progress bar on stderr and the job's log lines on
// stdout. A service without the stream (or a proxy that drops it) falls back to polling.
import type { CliContext } from './context';
import type { ApiClient } from './api-client';

export interface JobStep { name: string; state: string; device?: string }
export interface JobLogLine { at: string; message: string; device?: string }
export interface JobView {
  id: string; type: string; state: string; progress: number; error?: string; result?: unknown; fabric?: string;
  createdAt?: string; startedAt?: string; finishedAt?: string;
  steps: JobStep[];
  log: JobLogLine[];
  devices: Record<string, { state: string; error?: string }>;
}

/** The `patch` event (src/api/job-patch.ts). */
export interface JobPatch {
  state: string; progress: number; error?: string; result?: unknown; startedAt?: string; finishedAt?: string;
  devices?: JobView['devices']; steps?: JobStep[]; stepStates?: [number, string][]; log?: JobLogLine[];
}

export const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pure: the job after one `patch` event. Returns the new log lines too. */
export function applyPatch(j: JobView, p: JobPatch): { job: JobView; lines: JobLogLine[] } {
  const steps = p.steps ? p.steps : j.steps.map((s) => ({ ...s }));
  if (!p.steps) for (const [i, st] of p.stepStates ?? []) if (steps[i]) steps[i].state = st;
  const lines = p.log ?? [];
  const job: JobView = {
    ...j, state: p.state, progress: p.progress,
    ...(p.error !== undefined ? { error: p.error } : {}), ...(p.result !== undefined ? { result: p.result } : {}),
    ...(p.startedAt ? { startedAt: p.startedAt } : {}), ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
    devices: { ...j.devices, ...(p.devices ?? {}) }, steps, log: [...j.log, ...lines],
  };
  return { job, lines };
}

/** Pure: splits a server-sent-events buffer into complete events and the unfinished rest. */
export function parseSse(buf: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const blocks = buf.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const b of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of b.split('\n')) {
      if (line.startsWith(':')) continue; // heartbeat comment
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export function bar(p: number, width = 30): string {
  const n = Math.max(0, Math.min(width, Math.round((p / 100) * width)));
  return `[${'#'.repeat(n)}${'-'.repeat(width - n)}]`;
}

function summary(j: JobView): string {
  const running = j.steps.filter((s) => s.state === 'running' && s.device).map((s) => `${s.device}:${s.name}`);
  const failed = Object.values(j.devices).filter((d) => d.state === 'failed').length;
  return `${running.slice(0, 3).join(' ')}${running.length > 3 ? ` +${running.length - 3}` : ''}${failed ? `  failed ${failed}` : ''}`;
}

export const logLine = (l: JobLogLine) => `${l.at.slice(11, 19)} ${l.device ? `${l.device}: ` : ''}${l.message}\n`;

export interface FollowOptions { timeoutS: number; intervalMs?: number; quietLog?: boolean; poll?: boolean }

/** Draws one job's progress: the bar rewritten in place on a terminal, one line per change otherwise. */
class Drawer {
  private last = '';
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly ctx: CliContext, private readonly quiet: boolean) {}
  lines(ls: JobLogLine[]): void {
    if (this.quiet) return;
    for (const l of ls) {
      if (this.tty) this.ctx.err('\r\x1b[K');
      this.ctx.out(logLine(l));
    }
  }
  progress(j: JobView): void {
    const line = `${bar(j.progress)} ${String(j.progress).padStart(3)}% ${j.state}  ${summary(j)}`.trimEnd();
    if (line === this.last) return;
    this.ctx.err(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
    this.last = line;
  }
  done(): void { if (this.tty && this.last) this.ctx.err('\n'); }
}

class StillRunning extends Error {}

function stillRunning(id: string, j: JobView | undefined, timeoutS: number): Error {
  return new StillRunning(`job ${id} still ${j?.state ?? 'running'} after ${timeoutS} s (it keeps running; follow it with: fabric jobs watch ${id})`);
}

async function followStream(api: ApiClient, d: Drawer, id: string, opts: FollowOptions): Promise<JobView> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutS * 1000);
  let job: JobView | undefined;
  try {
    const res = await api.stream(`/jobs/${encodeURIComponent(id)}/stream`, ctl.signal);
    if (!res.body) throw new Error('the service sent no stream');
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const { events, rest } = parseSse(buf);
      buf = rest;
      for (const e of events) {
        if (e.event === 'job') {
          job = JSON.parse(e.data) as JobView;
          d.lines(job.log);
        } else if (e.event === 'patch' && job) {
          const r = applyPatch(job, JSON.parse(e.data) as JobPatch);
          job = r.job;
          d.lines(r.lines);
        } else if (e.event === 'end') {
          // The last patch carried the final state; a read confirms it (and the result).
          const final = await api.request<JobView>('GET', `/jobs/${encodeURIComponent(id)}?logLimit=1`);
          job = { ...(job ?? final), ...final, log: job?.log ?? [] };
          d.progress(job);
          return job;
        }
        if (job) d.progress(job);
      }
    }
    throw new Error('the job stream ended early');
  } catch (e) {
    if (ctl.signal.aborted) throw stillRunning(id, job, opts.timeoutS);
    throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
}

async function followPoll(api: ApiClient, d: Drawer, id: string, opts: FollowOptions): Promise<JobView> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  let seen = 0;
  for (;;) {
    const j = await api.request<JobView>('GET', `/jobs/${encodeURIComponent(id)}?logLimit=5000`);
    d.lines(j.log.slice(seen));
    seen = j.log.length;
    d.progress(j);
    if (FINAL.has(j.state)) return j;
    if (Date.now() > deadline) throw stillRunning(id, j, opts.timeoutS);
    await sleep(opts.intervalMs ?? 500);
  }
}

/**
 * Follows a job until it ends (stream first, polling when the stream is not there).
 * Resolves to the final job; the caller decides the exit code.
 */
export async function follow(api: ApiClient, ctx: CliContext, id: string, opts: FollowOptions): Promise<JobView> {
  const d = new Drawer(ctx, opts.quietLog === true);
  try {
    if (opts.poll) return await followPoll(api, d, id, opts);
    try {
      return await followStream(api, d, id, opts);
    } catch (e) {
      // The time is up: say so. Anything else (an older service, a proxy that buffers, a 404)
      // gets one polling try, which reports a real problem (no such job, no access) itself.
      if (e instanceof StillRunning) throw e;
      return await followPoll(api, d, id, opts);
    }
  } finally {
    d.done();
  }
}

/** Exit non-zero unless the job succeeded. */
export function endOf(j: JobView): void {
  if (j.state === 'succeeded') return;
  throw new Error(`job ${j.id} ${j.state}${j.error ? `: ${j.error}` : ''}`);
}
