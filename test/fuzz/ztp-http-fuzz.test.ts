// The ZTP bootstrap route as the service serves it: its rules for hostile use, then a
// fixed-seed fuzz set over raw TCP (FUZZ_CASES=n for more; bench/fuzz-net.ts runs 10,000+).
import { describeIf } from '../helpers/env';
import { fuzzCases, fuzzSeed } from './prng';
import { rawRequest, runZtpFuzz, startZtpTarget, SECRET, type ZtpTarget } from './ztp-http-fuzz';

const get = (t: ZtpTarget, path: string, method = 'GET', ms = 5000) =>
  rawRequest(t.port, Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`), { ms, quietMs: ms });

describeIf({ commands: ['redis-server'] })('ZTP bootstrap route under hostile use', () => {
  let t: ZtpTarget;
  beforeAll(async () => { t = await startZtpTarget(); });
  afterAll(async () => { await t?.stop(); });

  test('refusals: one warning per source per window, naming the serial asked for, never the token', async () => {
    const before = t.logs.length;
    for (let i = 0; i < 50; i++) expect((await get(t, `/ztp/SIM0007?t=${'0'.repeat(31)}${i % 10}`)).status).toBe(404);
    const ztp = t.logs.slice(before).filter((l) => l.includes('"component":"ztp"'));
    expect(ztp).toHaveLength(1);
    expect(ztp[0]).toContain('ztp: no bootstrap for serial \\"SIM0007\\" from 127.0.0.1: unknown, used or expired token, or one of another serial');
    expect(ztp[0]).not.toContain('0'.repeat(31));
  });

  test('HEAD, another serial or a doubled token do not burn the one-time token', async () => {
    const tok = await t.issue('SIM0007', 1);
    expect((await get(t, `/ztp/SIM0007?t=${tok}`, 'HEAD')).status).toBe(405);
    expect((await get(t, `/ztp/OTHER1?t=${tok}`)).status).toBe(404);
    expect((await get(t, `/ztp/SIM0007?t=${tok}&t=${tok}`)).status).toBe(404);
    const post = await get(t, `/ztp/SIM0007?t=${tok}`, 'POST');
    expect(post.status).toBe(405);
    expect(post.head.toLowerCase()).toContain('allow: get');
    expect((await get(t, `/ztp/SIM0007/x?t=${tok}`)).status).toBe(404);
    const ok = await get(t, `/ztp/SIM0007?t=${tok}`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ hostname: 'leaf7', credentials: { password: SECRET } });
    expect((await get(t, `/ztp/SIM0007?t=${tok}`)).status).toBe(404); // once
  });

  test('a store that does not answer (Redis frozen): 503 with Retry-After within the timeout, and the token survives for the retry', async () => {
    const tok = await t.issue('SIM0007', 2);
    process.kill(t.redisPid, 'SIGSTOP');
    let r;
    const t0 = Date.now();
    try {
      r = await get(t, `/ztp/SIM0007?t=${tok}`, 'GET', 15_000);
    } finally {
      process.kill(t.redisPid, 'SIGCONT');
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status).toBe(503);
    expect(r.head.toLowerCase()).toContain('retry-after: 5');
    expect(JSON.parse(r.body)).toEqual({ error: 'unavailable', message: 'the bootstrap store is not reachable; retry' });
    // the GETDEL queued while Redis was frozen ran when it woke: the token was put back
    let ok;
    for (let i = 0; i < 50 && ok?.status !== 200; i++) {
      ok = await get(t, `/ztp/SIM0007?t=${tok}`);
      if (ok.status !== 200) await new Promise((res) => setTimeout(res, 100));
    }
    expect(ok!.status).toBe(200);
  }, 30_000);
});

describeIf({ commands: ['redis-server'] })('ZTP HTTP fuzz', () => {
  test('hostile paths, queries, methods, headers, request lines and bodies: 4xx, never 5xx, no hang; the device still bootstraps', async () => {
    const cases = fuzzCases(700);
    const r = await runZtpFuzz({ cases, seed: fuzzSeed(3) });
    if (process.env.FUZZ_REPORT) process.stdout.write(`${JSON.stringify(r)}\n`);
    expect(Object.values(r.statuses).reduce((a, b) => a + b, 0)).toBe(cases);
    expect(r.fiveXX).toEqual([]);
    expect(r.timeouts).toBe(0);
    expect(r.tokenLeaks).toEqual([]);
    for (const [k, n] of Object.entries(r.statuses)) {
      // a 4xx, or a request closed without an answer: cut short, or CONNECT (Node drops it); or
      // the UI's fixed redirect of `/` and `/ui` to `/ui/` (a path that lost its /ztp prefix),
      // which carries nothing of the request
      expect(/^4\d\d$/.test(k) || k === '301' || k === '302' || k === 'closed' ? n : `unexpected outcome ${k}`).toBe(n);
    }
    expect(r.closedWithoutAnswer.filter((q) => !q.startsWith('CONNECT '))).toEqual([]);
    expect(r.deviceOk).toBe(r.deviceFetches);
    expect(r.healthyAfter).toBe(true);
    expect(r.secretInLogs).toBe(false);
    // a URL our routes serve never reaches the access log (other spellings do: the app's 404 logs them)
    expect(r.tokenUrlLines.filter((l) => /"method":"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH)","url":"\/ztp\//.test(l))).toEqual([]);
    expect(r.ztpLines).toBeLessThan(10);
  }, 120_000);
});
