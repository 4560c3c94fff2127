import { FramingDecoder, FramingError, encode, decodeAll, EOM_DELIMITER } from '../../src/netconf/framing';

const HELLO = '<?xml version="1.0" encoding="UTF-8"?><hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>';
const REPLY = '<rpc-reply message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><ok/></rpc-reply>';
const UNICODE = '<data>résumé — 日本語 ✓</data>';

function expectFramingError(fn: () => unknown, code: string): FramingError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FramingError);
    expect((e as FramingError).code).toBe(code);
    return e as FramingError;
  }
  throw new Error('expected a FramingError ' + code);
}

describe('encode', () => {
  it('eom appends the delimiter', () => {
    expect(encode(REPLY, 'eom').toString()).toBe(REPLY + ']]>]]>');
  });
  it('chunked writes one chunk with the byte length (not the character length) and end-of-chunks', () => {
    const wire = encode(UNICODE, 'chunked').toString('utf8');
    const bytes = Buffer.byteLength(UNICODE);
    expect(bytes).toBeGreaterThan(UNICODE.length);
    expect(wire).toBe(`\n#${bytes}\n${UNICODE}\n##\n`);
  });
  it('chunked splits at maxChunkSize', () => {
    const wire = encode('abcdefghij', 'chunked', { maxChunkSize: 4 }).toString();
    expect(wire).toBe('\n#4\nabcd\n#4\nefgh\n#2\nij\n##\n');
  });
  it('refuses an eom message containing the delimiter', () => {
    expectFramingError(() => encode('<a>]]>]]></a>', 'eom'), 'DELIMITER_IN_MESSAGE');
  });
});

describe('FramingDecoder', () => {
  it('decodes several eom messages in one read and keeps the remainder', () => {
    const d = new FramingDecoder();
    const got = d.push(Buffer.from(HELLO + EOM_DELIMITER + REPLY + EOM_DELIMITER + '<partial'));
    expect(got).toEqual([HELLO, REPLY]);
    expect(d.hasPartial).toBe(true);
    expect(d.push('/>]]>]]>')).toEqual(['<partial/>']);
    expect(d.hasPartial).toBe(false);
    expect(d.messageCount).toBe(3);
  });

  it('decodes several chunked messages, multi-chunk, in one read', () => {
    const wire = Buffer.concat([
      encode(REPLY, 'chunked', { maxChunkSize: 7 }),
      encode(UNICODE, 'chunked', { maxChunkSize: 3 }), // splits inside multi-byte characters
      encode('x', 'chunked'),
    ]);
    expect(decodeAll(wire, 'chunked')).toEqual([REPLY, UNICODE, 'x']);
  });

  it('accepts the RFC 6242 example (two chunks)', () => {
    const wire = '\n#4\n<rpc\n#18\n message-id="102"\n\n#79\n     xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <close-session/>\n</rpc>\n##\n';
    expect(decodeAll(wire, 'chunked')).toEqual([
      '<rpc message-id="102"\n     xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">\n  <close-session/>\n</rpc>',
    ]);
  });

  for (const mode of ['eom', 'chunked'] as const) {
    it(`${mode}: every split point of a 3-message stream gives the same messages`, () => {
      const msgs = [HELLO, UNICODE, REPLY];
      const wire = Buffer.concat(msgs.map((m) => encode(m, mode, { maxChunkSize: 5 })));
      for (let i = 0; i <= wire.length; i++) {
        const d = new FramingDecoder({ mode });
        const got = [...d.push(wire.subarray(0, i)), ...d.push(wire.subarray(i))];
        expect(got).toEqual(msgs);
      }
    });
    it(`${mode}: byte-at-a-time feeding gives the same messages`, () => {
      const msgs = [REPLY, UNICODE];
      const wire = Buffer.concat(msgs.map((m) => encode(m, mode, { maxChunkSize: 9 })));
      const seen: string[] = [];
      const d = new FramingDecoder({ mode, onMessage: (m) => seen.push(m) });
      for (let i = 0; i < wire.length; i++) d.push(wire.subarray(i, i + 1));
      expect(seen).toEqual(msgs);
    });
  }

  it('switches eom -> chunked inside onMessage, even when the next message is in the same read', () => {
    const wire = Buffer.concat([encode(HELLO, 'eom'), encode(REPLY, 'chunked'), encode(UNICODE, 'chunked', { maxChunkSize: 2 })]);
    for (let i = 0; i <= wire.length; i++) {
      const seen: string[] = [];
      const d: FramingDecoder = new FramingDecoder({
        onMessage: (m) => {
          seen.push(m);
          if (seen.length === 1) d.setMode('chunked');
        },
      });
      d.push(wire.subarray(0, i));
      d.push(wire.subarray(i));
      expect(seen).toEqual([HELLO, REPLY, UNICODE]);
      expect(d.mode).toBe('chunked');
    }
  });

  it('tolerates a newline between the eom hello and the first chunk', () => {
    const seen: string[] = [];
    const d: FramingDecoder = new FramingDecoder({
      onMessage: (m) => {
        seen.push(m);
        d.setMode('chunked');
      },
    });
    d.push(Buffer.concat([encode(HELLO, 'eom'), Buffer.from('\n'), encode(REPLY, 'chunked')]));
    expect(seen).toEqual([HELLO, REPLY]);
  });

  it('garbage in chunked mode is a typed error and the decoder stays failed', () => {
    const d = new FramingDecoder({ mode: 'chunked' });
    const err = expectFramingError(() => d.push('\n#12\nhello world!\n#x\n'), 'GARBAGE');
    expect(err.message).toMatch(/bad chunk size start 'x'/);
    expect(err.offset).toBe(19);
    expectFramingError(() => d.push(encode(REPLY, 'chunked')), 'GARBAGE');
  });

  it('garbage cases: eom text where a chunk header is expected, zero size, missing LF after ##', () => {
    expectFramingError(() => decodeAll(REPLY + EOM_DELIMITER, 'chunked'), 'GARBAGE');
    expectFramingError(() => decodeAll('\n#0\n', 'chunked'), 'GARBAGE');
    expectFramingError(() => decodeAll('\n#012\n', 'chunked'), 'GARBAGE');
    expectFramingError(() => decodeAll('\n#3\nabc\n##x', 'chunked'), 'GARBAGE');
    expectFramingError(() => decodeAll('\n##\n', 'chunked'), 'GARBAGE');
    expectFramingError(() => decodeAll('\n#3\nabcX', 'chunked'), 'GARBAGE');
  });

  it('a chunk header over the limit fails on the digits, before any data arrives', () => {
    const d = new FramingDecoder({ mode: 'chunked', maxChunkSize: 1000 });
    d.push('\n#10'); // still possible
    d.push('00'); // 1000 is still within the limit
    const err = expectFramingError(() => d.push('0'), 'CHUNK_TOO_LARGE'); // 10000 is not
    expect(err.message).toMatch(/10000 exceeds limit 1000/);
    expect(err.offset).toBe(6); // the fifth digit
    // a header beyond the RFC maximum with a default limit
    expectFramingError(() => decodeAll('\n#99999999999\n', 'chunked', { maxChunkSize: Number.MAX_SAFE_INTEGER }), 'CHUNK_TOO_LARGE');
  });

  it('a chunk header exactly at the limit is accepted', () => {
    expect(decodeAll(encode('a'.repeat(1000), 'chunked', { maxChunkSize: 1000 }), 'chunked', { maxChunkSize: 1000 })).toEqual([
      'a'.repeat(1000),
    ]);
  });

  it('message size limit: chunked across chunks, and eom without a delimiter', () => {
    expectFramingError(
      () => decodeAll(encode('a'.repeat(300), 'chunked', { maxChunkSize: 100 }), 'chunked', { maxMessageSize: 250 }),
      'MESSAGE_TOO_LARGE',
    );
    const d = new FramingDecoder({ maxMessageSize: 100 });
    d.push('a'.repeat(100));
    expectFramingError(() => d.push('b'), 'MESSAGE_TOO_LARGE');
  });

  it('hasPartial reports a message cut mid-chunk', () => {
    const d = new FramingDecoder({ mode: 'chunked' });
    d.push(encode(REPLY, 'chunked').subarray(0, 10));
    expect(d.hasPartial).toBe(true);
  });
});
