// Live job progress as server-sent events (the web UI's job pages, issue 17). The browser reads
// the stream with fetch() so the token stays in the Authorization header (EventSource cannot
// send one). The job records publish every change (records.ts, JOB_CHANGED_CHANNEL); each
// stream re-reads its job at most every THROTTLE_MS and sends what changed, so a 1,056-device
// job does not resend its whole record per step.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import { FINAL_STATES, JOB_CHANGED_CHANNEL, type JobView } from '../jobs/records';
import { jobPatch } from './job-patch';
import type { ApiContext } from './context';
import { notFound } from './errors';
import { IdParams } from './schemas';

/** Minimum time between two reads of one job by one stream. */
const THROTTLE_MS = 200;
/** A read even without a change message (a missed message, a worker of an older version). */
const FALLBACK_MS = 5_000;
/** Comment lines keep proxies and the browser from timing the stream out. */
const HEARTBEAT_MS = 15_000;
/** Log lines in the first snapshot, and read per update to find the new ones. */
const FIRST_LOG = 500;
const UPDATE_LOG = 200;

/** One Redis subscriber per API process, fanning change messages out to the streams watching. */
class JobChangeHub {
  private sub?: Redis;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(private readonly redis: Redis) {}

  watch(id: string, fn: () => void): () => void {
    if (!this.sub) {
      const sub = this.redis.duplicate();
      sub.on('error', () => { /* ioredis reconnects; the fallback read covers the gap */ });
      sub.on('message', (_ch: string, jobId: string) => {
        for (const f of this.watchers.get(jobId) ?? []) f();
      });
      // Once connected: the API's connection queues nothing offline, so a SUBSCRIBE sent before
      // the duplicate is up fails (a cluster's always is); ioredis resubscribes after reconnects.
      const subscribe = () => { void sub.subscribe(JOB_CHANGED_CHANNEL).catch(() => undefined); };
      if (sub.status === 'ready') subscribe(); else sub.once('ready', subscribe);
      this.sub = sub;
    }
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (set!.size === 0) this.watchers.delete(id);
    };
  }

  close(): void {
    this.sub?.disconnect();
    this.sub = undefined;
  }
}

const isFinal = (v: JobView) => FINAL_STATES.includes(v.state);

export function registerStreamRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const hub = new JobChangeHub(ctx.store.redis);
  const open = new Set<() => void>();
  // Streams never end by themselves while a job runs: end them so app.close() does not wait.
  api.addHook('preClose', async () => {
    for (const end of [...open]) end();
    hub.close();
  });

  api.get<{ Params: { id: string } }>('/jobs/:id/stream', {
    config: { role: 'viewer' },
    schema: {
      tags: ['jobs'],
      summary: 'Live job progress (text/event-stream): `job` (the whole job, last 500 log lines), then `patch` per change (what changed, new log lines), `end` when it finished',
      params: IdParams,
      response: {
        200: { description: 'server-sent events: event job|patch|end, data JSON', content: { 'text/event-stream': { schema: Type.String() } } },
        404: { $ref: 'Error#' },
      },
    },
  }, async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const id = req.params.id;
    let prev = await ctx.jobs.get(id, { logLimit: FIRST_LOG });
    if (!prev) throw notFound(`job "${id}" not found`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let reading = false;
    let again = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      clearInterval(fallback);
      clearInterval(heartbeat);
      unwatch();
      open.delete(end);
      res.end();
    };
    const read = async () => {
      timer = undefined;
      if (ended) return;
      if (reading) { again = true; return; }
      reading = true;
      try {
        const next = await ctx.jobs.get(id, { logLimit: UPDATE_LOG });
        if (ended) return;
        if (!next) { send('end', { reason: 'job record expired' }); end(); return; }
        const patch = jobPatch(prev!, next);
        if (patch) send('patch', patch);
        prev = next;
        if (isFinal(next)) { send('end', { state: next.state }); end(); }
      } catch (e) {
        req.log.warn({ job: id, err: (e as Error).message }, 'job stream read failed');
      } finally {
        reading = false;
        if (again && !ended) { again = false; schedule(); }
      }
    };
    const schedule = () => { if (!timer && !ended) timer = setTimeout(() => void read(), THROTTLE_MS); };
    const unwatch = hub.watch(id, schedule);
    const fallback = setInterval(schedule, FALLBACK_MS);
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    open.add(end);
    // The response's close: the browser went away (the request's own close fires earlier).
    res.on('close', end);
    res.on('error', end);

    send('job', prev);
    if (isFinal(prev)) { send('end', { state: prev.state }); end(); return; }
    // A change between the first read and the subscription would otherwise wait for the fallback.
    schedule();
  });
}
