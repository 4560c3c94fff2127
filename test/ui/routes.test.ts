// The routes the UI lives on, over real HTTP on a real Redis: the static page (public, strict
// CSP, deep URLs, caching, gzip), GET /whoami, and the job event stream (protected, pushed by
// the job records' change messages rather than found by polling, ended on app close).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { SseParser, type SseEvent } from '../../ui/src/sse';
import { UI_CSP } from '../../src/api/routes-ui';
import { ensureUiBuilt, startUiStack, type UiStack } from './stack';

jest.setTimeout(60_000);

/** Reads an event stream; `next()` resolves with the next event (or rejects after `ms`). */
async function openStream(url: string, token?: string) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ac.signal });
  const queue: SseEvent[] = [];
  const waiters: ((e: SseEvent | undefined) => void)[] = [];
  let done = false;
  if (res.ok && res.body) {
    void (async () => {
      const parser = new SseParser();
      const dec = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const e of parser.push(dec.decode(chunk, { stream: true }))) {
            const w = waiters.shift();
            if (w) w(e); else queue.push(e);
          }
        }
      } catch { /* aborted */ }
      done = true;
      for (const w of waiters.splice(0)) w(undefined);
    })();
  }
  return {
    res,
    get done() { return done; },
    next(ms = 3000): Promise<SseEvent | undefined> {
      if (queue.length) return Promise.resolve(queue.shift());
      if (done) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
        waiters.push((e) => { clearTimeout(t); resolve(e); });
      });
    },
    close: () => ac.abort(),
  };
}

describeIf({ commands: ['redis-server'] })('UI routes', () => {
  let stack: UiStack;
  const closed: { stopped?: boolean } = {};

  beforeAll(async () => {
    ensureUiBuilt();
    stack = await startUiStack();
  });
  afterAll(async () => {
    if (!closed.stopped) await stack?.stop();
  });

  test('the page: public, strict CSP, no inline script; deep URLs answer the page; assets cached and compressed', async () => {
    const index = readFileSync(path.join(__dirname, '../../dist/webui/index.html'), 'utf8');
    const r = await fetch(`${stack.base}/ui/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('content-security-policy')).toBe(UI_CSP);
    expect(UI_CSP).toContain("script-src 'self'");
    expect(UI_CSP).not.toContain('unsafe');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    const html = await r.text();
    expect(html).toBe(index);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/\sstyle=/);

    const deep = await fetch(`${stack.base}/ui/fabrics/dc1/devices/leaf1?device=x`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(index);
    const etag = r.headers.get('etag')!;
    expect((await fetch(`${stack.base}/ui/`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const js = /src="(\/ui\/assets\/app-[^"]+\.js)"/.exec(html)![1];
    const a = await fetch(stack.base + js, { headers: { 'accept-encoding': 'gzip' } });
    expect(a.status).toBe(200);
    expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(a.headers.get('content-encoding')).toBe('gzip');
    expect(a.headers.get('content-type')).toMatch(/^text\/javascript/);
    const missing = await fetch(`${stack.base}/ui/assets/app-OLDOLDOLD.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('not_found');

    const root = await fetch(`${stack.base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
  });

  test('GET /whoami names the token, never shows it; needs a token', async () => {
    const r = await stack.call('GET', '/api/v1/whoami', undefined, 'operator');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: expect.stringMatching(/^[0-9a-f]{12}$/), role: 'operator', name: 'ui-operator', createdAt: expect.any(String) });
    expect(JSON.stringify(r.json)).not.toContain(stack.tokens.operator.slice(17));
    expect((await fetch(`${stack.base}/api/v1/whoami`)).status).toBe(401);
  });

  test('job stream: 401 without a token, 404 for an unknown job', async () => {
    expect((await fetch(`${stack.base}/api/v1/jobs/nope/stream`)).status).toBe(401);
    const r = await fetch(`${stack.base}/api/v1/jobs/nope/stream`, { headers: { authorization: `Bearer ${stack.tokens.viewer}` } });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { message: string }).message).toBe('job "nope" not found');
  });

  test('job stream: the snapshot, then each change pushed at once (not after the 5 s fallback read), then end', async () => {
    const rec = stack.jobs.records;
    await rec.create('ui-j1', 'autoconfigure', 'f1', {});
    const s = await openStream(`${stack.base}/api/v1/jobs/ui-j1/stream`, stack.tokens.viewer);
    expect(s.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const first = await s.next();
    expect(first?.event).toBe('job');
    expect(JSON.parse(first!.data)).toMatchObject({ id: 'ui-j1', state: 'queued', progress: 0 });

    await rec.setRunning('ui-j1');
    await rec.log('ui-j1', 'planning');
    // the change message arrives well within the fallback read's 5 s: pushed, not polled
    const t0 = Date.now();
    let p = JSON.parse((await s.next(2000))!.data);
    while (!p.log) p = JSON.parse((await s.next(2000))!.data);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(p.state).toBe('running');
    expect(p.log.map((l: { message: string }) => l.message)).toEqual(['planning']);

    await rec.declareDevices('ui-j1', ['leaf1'], ['render']);
    await rec.deviceDone('ui-j1', 'leaf1', { state: 'succeeded', progress: 1 }, { render: 'succeeded' }, 'rendered');
    await rec.finish('ui-j1', 'succeeded', { message: 'done' });
    const events: SseEvent[] = [];
    for (let e = await s.next(); e; e = await s.next()) events.push(e);
    expect(events[events.length - 1]).toEqual({ event: 'end', data: '{"state":"succeeded"}' });
    const patches = events.filter((e) => e.event === 'patch').map((e) => JSON.parse(e.data));
    expect(patches[patches.length - 1]).toMatchObject({ state: 'succeeded', progress: 100 });
    expect(patches.flatMap((x) => x.log ?? []).map((l: { message: string }) => l.message)).toEqual(['rendered', 'done']);
    expect(s.done).toBe(true);
  });

  test('a finished job streams its snapshot and ends; app.close() ends streams still open', async () => {
    const rec = stack.jobs.records;
    await rec.create('ui-j2', 'autoconfigure', 'f1', {});
    await rec.finish('ui-j2', 'failed', { error: 'boom' });
    const s = await openStream(`${stack.base}/api/v1/jobs/ui-j2/stream`, stack.tokens.viewer);
    expect(JSON.parse((await s.next())!.data)).toMatchObject({ state: 'failed', error: 'boom' });
    expect((await s.next())?.event).toBe('end');

    await rec.create('ui-j3', 'autoconfigure', 'f1', {});
    const open = await openStream(`${stack.base}/api/v1/jobs/ui-j3/stream`, stack.tokens.viewer);
    expect((await open.next())?.event).toBe('job');
    const t0 = Date.now();
    closed.stopped = true;
    await stack.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await open.next(3000)).toBeUndefined();
  });
});
