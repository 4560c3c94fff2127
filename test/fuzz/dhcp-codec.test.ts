// The BOOTP/DHCP codec: byte for byte against packets captured from real dhclient and dhcrelay
// runs, its strict rules one by one, and a fixed-seed fuzz set (FUZZ_CASES=n for more): every
// input either decodes or fails with a DhcpDecodeError, and what decodes re-encodes stably.
import { DhcpDecodeError, OPT, MSG, decode, encode, messageType, parseSubOptions, type DhcpPacket } from '../../src/discovery/dhcp/packet';
import { runDhcpCodecFuzz } from './dhcp-codec-fuzz';
import { identify } from '../../src/discovery/dhcp/identity';
import { loadCorpus, MUTATIONS } from './dhcp-gen';
import { fuzzCases, fuzzSeed } from './prng';

const corpus = loadCorpus();
const seed = (name: string): Buffer => corpus.find((s) => s.name === name)!.bytes;

function kindOf(fn: () => unknown): string {
  try { fn(); } catch (e) {
    if (e instanceof DhcpDecodeError) return e.kind;
    throw e;
  }
  return 'ok';
}

describe('captured packets', () => {
  test('the corpus has dhclient, dhcrelay and server packets', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(12);
  });

  test.each(corpus.map((s) => [s.name, s.bytes] as const))('%s: decode, then encode gives the same bytes', (_name, bytes) => {
    expect(encode(decode(bytes)).toString('hex')).toBe(bytes.toString('hex'));
  });

  test('dhclient DISCOVER: header and the options it sent', () => {
    const p = decode(seed('dhclient-discover'));
    expect(p).toMatchObject({ op: 1, htype: 1, hlen: 6, hops: 0, chaddr: '02:00:00:77:00:01', ciaddr: '0.0.0.0', giaddr: '0.0.0.0', sname: '', file: '' });
    expect([...p.options.keys()]).toEqual([53, 12, 55, 60, 61]);
    expect(messageType(p)).toBe(MSG.DISCOVER);
    expect(identify(p)).toMatchObject({ serial: 'SIM0001', vendor: 'FRR', model: 'frr-switch', clientId: `00${Buffer.from('SIM0001').toString('hex')}` });
  });

  test('dhcrelay: giaddr, hops 1, option 82 (circuit ID = the relay interface) last', () => {
    const p = decode(seed('dhcrelay-request'));
    expect(p).toMatchObject({ giaddr: '10.78.0.1', hops: 1 });
    expect([...p.options.keys()].pop()).toBe(OPT.relayAgentInfo);
    expect(parseSubOptions(p.options.get(OPT.relayAgentInfo)!).get(1)!.toString()).toBe('r1');
  });
});

describe('codec rules', () => {
  const base = (): DhcpPacket => ({
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 7, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '0.0.0.0', chaddr: '02:00:00:00:00:01', sname: '', file: '', options: new Map([[OPT.messageType, Buffer.from([MSG.DISCOVER])]]),
  });
  /** the encoded header + cookie of base(), followed by raw option bytes */
  const raw = (...opts: number[]): Buffer => Buffer.concat([encode(base()).subarray(0, 240), Buffer.from(opts)]);

  test('pad bytes are skipped (one byte each), bytes after the end option are not read', () => {
    const p = decode(raw(0, 0, 53, 1, 3, 0, 12, 2, 0x41, 0x42, 255, 12, 99));
    expect([...p.options.entries()].map(([k, v]) => [k, v.toString('hex')])).toEqual([[53, '03'], [12, '4142']]);
  });

  test('no end option: accepted when the options end exactly at the end of the packet', () => {
    expect(messageType(decode(raw(53, 1, 1)))).toBe(1);
  });

  test('a repeated option is concatenated (RFC 3396)', () => {
    expect(decode(raw(53, 1, 1, 60, 2, 0x41, 0x42, 61, 2, 0, 0x31, 60, 1, 0x43, 255)).options.get(60)!.toString()).toBe('ABC');
  });

  test.each([
    ['short', Buffer.alloc(239)],
    ['op', (() => { const b = raw(255); b[0] = 3; return b; })()],
    ['hlen', (() => { const b = raw(255); b[2] = 17; return b; })()],
    ['cookie', (() => { const b = raw(255); b[239] ^= 1; return b; })()],
    ['truncated', raw(53, 1)],
    ['truncated', raw(53, 1, 1, 60)],
    ['truncated', raw(53, 1, 1, 60, 10, 0x41)],
    ['option-length', raw(53, 2, 1, 1, 255)],
    ['option-length', raw(53, 1, 1, 50, 3, 10, 0, 0, 255)],
    ['option-length', raw(53, 1, 1, 3, 6, 10, 0, 0, 1, 10, 0, 255)],
    ['option-length', raw(53, 1, 1, 61, 1, 0, 255)],
    ['overload', raw(53, 1, 1, 52, 1, 4, 255)],
    ['overload', raw(53, 1, 1, 52, 2, 1, 1, 255)],
    ['relay-agent-info', raw(53, 1, 1, 82, 4, 1, 5, 0x41, 0x42, 255)],
    ['relay-agent-info', raw(53, 1, 1, 82, 4, 1, 1, 0x41, 2, 255)],
    ['relay-agent-info', raw(53, 1, 1, 82, 6, 1, 1, 0x41, 1, 1, 0x42, 255)],
  ])('refused: %s', (kind, bytes) => {
    expect(kindOf(() => decode(bytes))).toBe(kind);
  });

  test('error messages say what and where', () => {
    expect(() => decode(raw(53, 1, 1, 60, 10, 0x41))).toThrow('DHCP option 60 truncated: at byte 243 of the options field, length 10 runs past its end (1 bytes left)');
    expect(() => decode(raw(53, 1, 1, 82, 4, 1, 5, 0x41, 0x42, 255))).toThrow('DHCP relay agent information (82): sub-option 1 at byte 0: length 5 runs past the option (2 bytes left)');
  });

  test('overload (52): options continue in file, then in sname; the fields are then not names', () => {
    const b = raw(53, 1, 1, 52, 1, 3, 60, 1, 0x41, 255);
    Buffer.from([60, 1, 0x42, 12, 2, 0x68, 0x31, 255]).copy(b, 108); // file
    Buffer.from([60, 1, 0x43, 0, 0, 255]).copy(b, 44);               // sname
    const p = decode(b);
    expect(p.options.get(60)!.toString()).toBe('ABC');
    expect(p.options.get(12)!.toString()).toBe('h1');
    expect(p).toMatchObject({ sname: '', file: '' });
    // a truncated option inside an overloaded field is refused like one in the options field
    const bad = raw(53, 1, 1, 52, 1, 1, 255);
    Buffer.from([60, 200, 0x42]).copy(bad, 108);
    expect(kindOf(() => decode(bad))).toBe('truncated');
    // option 52 inside the overloaded field itself
    const nested = raw(53, 1, 1, 52, 1, 2, 255);
    Buffer.from([52, 1, 1, 255]).copy(nested, 44);
    expect(kindOf(() => decode(nested))).toBe('overload');
  });

  test('sname and file are read up to their first NUL when not overloaded', () => {
    const b = raw(53, 1, 1, 255);
    Buffer.from('tftp.example\0junk').copy(b, 44);
    Buffer.from('boot/x.cfg').copy(b, 108);
    expect(decode(b)).toMatchObject({ sname: 'tftp.example', file: 'boot/x.cfg' });
  });

  test('encode refuses what it cannot write faithfully', () => {
    expect(() => encode({ ...base(), options: new Map([[OPT.overload, Buffer.from([1])]]) })).toThrow('option overload (52) is not produced');
    expect(() => encode({ ...base(), ciaddr: '10.0.0.256' })).toThrow('DHCP ciaddr "10.0.0.256" is not an IPv4 address');
    expect(() => encode({ ...base(), hlen: 16 })).toThrow('DHCP hlen 16 does not match chaddr');
    expect(() => encode({ ...base(), sname: 'x'.repeat(64) })).toThrow('DHCP sname is 64 bytes: at most 63 fit');
    expect(() => encode({ ...base(), options: new Map([[0, Buffer.alloc(1)]]) })).toThrow('DHCP option code 0 is not 1..254');
    expect(() => encode({ ...base(), op: 0 })).toThrow('DHCP op 0 is neither 1 nor 2');
  });

  test('a value over 255 bytes is split into consecutive instances and read back whole', () => {
    const p = base();
    p.options.set(OPT.bootfileName, Buffer.from('u'.repeat(600)));
    const b = encode(p);
    expect(b.length).toBe(240 + 3 + 3 * 2 + 600 + 1);
    expect(decode(b).options.get(OPT.bootfileName)!.length).toBe(600);
  });
});

describe('fuzz: the codec never throws anything but DhcpDecodeError', () => {
  const cases = fuzzCases(10_000);
  const s = fuzzSeed(12);
  test(`${cases} packets from seed ${s}`, () => {
    const r = runDhcpCodecFuzz({ cases, seed: s });
    if (process.env.FUZZ_REPORT) process.stdout.write(`${JSON.stringify(r)}\n`);
    // every mutation ran, and the set reached every refusal kind as well as accepted packets
    expect(Object.keys(r.perMutation).sort()).toEqual([...MUTATIONS].sort());
    for (const k of ['short', 'truncated', 'cookie', 'option-length', 'overload', 'relay-agent-info', 'ok']) expect(r.kinds[k] ?? 0).toBeGreaterThan(0);
    expect(r.stable).toBeGreaterThan(cases / 10);
  });
});
