// The codec under fuzz, in-process: every packet of dhcpFuzzPackets either decodes or fails
// with a DhcpDecodeError (anything else is a bug: it throws, naming the case and the seed), and
// what decodes re-encodes to a fixed point (decode, encode, decode gives the same packet; option
// overload folded into the options field). Used by dhcp-codec.test.ts and bench/fuzz-net.ts.
import { DhcpDecodeError, OPT, decode, encode, type DhcpPacket } from '../../src/discovery/dhcp/packet';
import { dhcpFuzzPackets } from './dhcp-gen';

export interface CodecFuzzResult {
  cases: number;
  seed: number;
  /** DhcpDecodeError kinds, plus 'ok' */
  kinds: Record<string, number>;
  perMutation: Record<string, { ok: number; refused: number }>;
  /** decoded packets that re-encoded to a fixed point */
  stable: number;
  /** decoded packets our encoder refuses to write back (e.g. a 64-byte sname without NUL) */
  notWritable: number;
  ms: number;
}

export function runDhcpCodecFuzz(o: { cases: number; seed: number }): CodecFuzzResult {
  const res: CodecFuzzResult = { cases: o.cases, seed: o.seed, kinds: {}, perMutation: {}, stable: 0, notWritable: 0, ms: 0 };
  const t0 = Date.now();
  let i = 0;
  for (const c of dhcpFuzzPackets(o.seed, o.cases)) {
    const where = `case ${i} (${c.mutation} of ${c.seed}, seed ${o.seed})`;
    let p: DhcpPacket | undefined;
    let kind = 'ok';
    try {
      p = decode(c.bytes);
    } catch (e) {
      if (!(e instanceof DhcpDecodeError)) throw new Error(`${where}: decode threw ${(e as Error).stack}`);
      kind = e.kind;
    }
    res.kinds[kind] = (res.kinds[kind] ?? 0) + 1;
    const m = (res.perMutation[c.mutation] ??= { ok: 0, refused: 0 });
    if (p) m.ok++; else m.refused++;
    if (p) {
      p.options.delete(OPT.overload);
      let again: Buffer | undefined;
      try {
        again = encode(p);
      } catch (e) {
        if (!(e instanceof RangeError)) throw new Error(`${where}: encode threw ${(e as Error).stack}`);
        res.notWritable++;
      }
      if (again) {
        const q = decode(again);
        if (!encode(q).equals(again) || q.xid !== p.xid || q.chaddr !== p.chaddr || q.options.size !== p.options.size) throw new Error(`${where}: re-encoding is not stable`);
        for (const [k, v] of p.options) if (!q.options.get(k)?.equals(v)) throw new Error(`${where}: option ${k} changed on re-encoding`);
        res.stable++;
      }
    }
    i++;
  }
  res.ms = Date.now() - t0;
  return res;
}
