import { cidrText, contains, formatIp, hostRange, overlaps, parseCidr, parseIp } from '../../src/domain/ipv4';

describe('ipv4 helpers', () => {
  test('parseIp accepts dotted quads and refuses everything else', () => {
    expect(parseIp('0.0.0.0')).toBe(0);
    expect(parseIp('10.255.0.1')).toBe(0x0aff0001);
    expect(parseIp('255.255.255.255')).toBe(4294967295);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..3.4', '1.2.3.4 ', ' 1.2.3.4',
      '1.2.3.-4', 'a.b.c.d', '1.2.3.4/32', '1000.2.3.4', '1.2.3.']) {
      expect([bad, parseIp(bad)]).toEqual([bad, undefined]);
    }
  });

  test('formatIp is the inverse of parseIp', () => {
    for (const ip of ['0.0.0.0', '10.254.0.1', '192.168.255.254', '255.255.255.255']) expect(formatIp(parseIp(ip)!)).toBe(ip);
  });

  test('parseCidr: prefix length, host bits, text round trip', () => {
    const r = parseCidr('10.254.0.0/20');
    expect(r).toEqual({ ok: true, cidr: { base: parseIp('10.254.0.0'), prefix: 20, size: 4096 } });
    if (r.ok) expect(cidrText(r.cidr)).toBe('10.254.0.0/20');
    expect(parseCidr('0.0.0.0/0')).toEqual({ ok: true, cidr: { base: 0, prefix: 0, size: 2 ** 32 } });
    expect(parseCidr('10.0.0.1/32').ok).toBe(true);
    expect(parseCidr('10.0.0.0/33')).toEqual({ ok: false, reason: 'has a prefix length outside 0..32' });
    expect(parseCidr('10.0.0.0/08')).toEqual({ ok: false, reason: 'has a prefix length outside 0..32' });
    expect(parseCidr('10.0.0.0')).toEqual({ ok: false, reason: 'has no prefix length (expected a.b.c.d/len)' });
    expect(parseCidr('10.0.0.1/24')).toEqual({ ok: false, reason: 'has host bits set (did you mean 10.0.0.0/24?)' });
    expect(parseCidr(42)).toEqual({ ok: false, reason: 'is not a string' });
  });

  test('contains, overlaps and host ranges (/31 and /32 use every address)', () => {
    const c = (t: string) => { const r = parseCidr(t); if (!r.ok) throw new Error(t); return r.cidr; };
    expect(contains(c('10.0.0.0/24'), parseIp('10.0.0.255')!)).toBe(true);
    expect(contains(c('10.0.0.0/24'), parseIp('10.0.1.0')!)).toBe(false);
    expect(overlaps(c('10.0.0.0/23'), c('10.0.1.128/25'))).toBe(true);
    expect(overlaps(c('10.0.0.0/24'), c('10.0.1.0/24'))).toBe(false);
    expect(hostRange(c('10.0.0.0/24'))).toEqual({ first: parseIp('10.0.0.1'), count: 254 });
    expect(hostRange(c('10.0.0.0/31'))).toEqual({ first: parseIp('10.0.0.0'), count: 2 });
    expect(hostRange(c('10.0.0.7/32'))).toEqual({ first: parseIp('10.0.0.7'), count: 1 });
  });
});
