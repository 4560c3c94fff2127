import { LogLimiter, type LimitedLine } from '../../src/log-limit';

describe('LogLimiter', () => {
  let lines: [string, LimitedLine][];
  const sink = (l: string, m: LimitedLine): void => { lines.push([l, m]); };
  beforeEach(() => {
    lines = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  test('one line per source and kind per window, then the count of what was left out', () => {
    const l = new LogLimiter(sink, { intervalMs: 10_000, prefix: 'dhcp: ' });
    for (let i = 0; i < 1000; i++) l.log('10.0.0.5', 'malformed', `bad packet ${i}`);
    l.log('10.0.0.6', 'malformed', 'other source');
    l.log('10.0.0.5', 'nak', 'other kind');
    expect(lines.map((x) => x[0])).toEqual(['bad packet 0', 'other source', 'other kind']);
    jest.advanceTimersByTime(10_000);
    expect(lines[3]).toEqual(['dhcp: 999 more "malformed" lines from 10.0.0.5 suppressed in the last 10 s', { source: '10.0.0.5', kind: 'malformed', suppressed: 999 }]);
    expect(lines).toHaveLength(4); // keys with nothing suppressed get no summary
    // a new window logs again
    l.log('10.0.0.5', 'malformed', 'bad packet again');
    expect(lines[4][0]).toBe('bad packet again');
    expect(l.totals).toEqual({ logged: 4, suppressed: 999, summaries: 1 });
    l.stop();
  });

  test('burst: several lines per key per window', () => {
    const l = new LogLimiter(sink, { burst: 3 });
    for (let i = 0; i < 5; i++) l.log('a', 'k', `x${i}`);
    expect(lines.map((x) => x[0])).toEqual(['x0', 'x1', 'x2']);
    l.flush();
    expect(lines[3][0]).toBe('2 more "k" lines from a suppressed in the last 10 s');
    l.stop();
  });

  test('forged sources cannot grow it without bound: past maxKeys they share one key', () => {
    const l = new LogLimiter(sink, { maxKeys: 4 });
    for (let i = 0; i < 10_000; i++) l.log(`02:00:00:00:${i >> 8}:${i & 255}`, 'nak', `nak ${i}`);
    expect(l.size).toBe(5);
    // 4 own keys + the first line of "other sources"
    expect(lines).toHaveLength(5);
    l.flush();
    expect(lines[5][0]).toBe('9995 more "any" lines from other sources suppressed in the last 10 s');
    expect(l.size).toBe(0);
    l.stop();
  });

  test('a line left out is never built; the timer stops when idle', () => {
    const l = new LogLimiter(sink, { intervalMs: 1000 });
    let built = 0;
    for (let i = 0; i < 100; i++) l.log('s', 'k', () => `line ${++built}`);
    expect(built).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000); // summary, window reset
    jest.advanceTimersByTime(1000); // nothing tracked: the timer goes
    expect(jest.getTimerCount()).toBe(0);
    expect(lines.map((x) => x[0])).toEqual(['line 1', '99 more "k" lines from s suppressed in the last 1 s']);
  });
});
