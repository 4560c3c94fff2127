// Hostile DHCP packets for the fuzzers, from the packets captured off real dhclient and
// dhcrelay runs (test/fuzz/corpus/dhcp): random bytes, truncations, bit flips, options whose
// lengths run past the packet, oversized and repeated options, broken option 82 and overload,
// and well-formed requests with random fields (they reach the server's logic, not only the
// codec). Pure and seeded: the same seed gives the same packets.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from './prng';
import { repoRoot } from './paths';

export const CORPUS_DIR = join(repoRoot(), 'test/fuzz/corpus/dhcp');

export interface Seed { name: string; bytes: Buffer }

export function loadCorpus(dir = CORPUS_DIR): Seed[] {
  return readdirSync(dir).filter((f) => f.endsWith('.hex')).sort()
    .map((f) => ({ name: f.replace(/\.hex$/, ''), bytes: Buffer.from(readFileSync(join(dir, f), 'utf8').trim(), 'hex') }));
}

export const MUTATIONS = ['random', 'truncated', 'bitflip', 'oversized-option', 'option-soup', 'relay-agent-info', 'overload', 'fields'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export interface FuzzPacket { mutation: Mutation; seed: string; bytes: Buffer }

/** offsets of each option (code byte) in the options field of a well-formed seed */
function optionOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 240; i < b.length;) {
    const c = b[i];
    if (c === 255) break;
    if (c === 0) { i++; continue; }
    out.push(i);
    i += 2 + (b[i + 1] ?? 0);
  }
  return out;
}

const header = (rnd: Prng, seed: Buffer): Buffer => {
  const h = Buffer.from(seed.subarray(0, 240));
  h.writeUInt32BE(rnd.u32(), 4); // xid
  return h;
};

const PRINTABLE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._ ';
const NASTY = '\u0000\n\r\t"\\%<>{}$`\u007f\u00ff';

/** a value for a DHCP string option: usually printable, sometimes control characters or very long */
function nastyString(rnd: Prng): Buffer {
  const n = rnd.chance(0.1) ? rnd.int(200, 255) : rnd.int(1, 40);
  return Buffer.from(rnd.text(n, rnd.chance(0.3) ? PRINTABLE + NASTY : PRINTABLE), 'latin1').subarray(0, 255);
}

function mutate(rnd: Prng, m: Mutation, seed: Buffer): Buffer {
  switch (m) {
    case 'random': {
      // pure noise, or noise behind a real header and cookie (reaches the option parser)
      const n = rnd.int(0, 700);
      const b = rnd.bytes(n);
      if (n >= 240 && rnd.chance(0.6)) seed.copy(b, 0, 0, 240);
      return b;
    }
    case 'truncated':
      return Buffer.from(seed.subarray(0, rnd.int(0, seed.length - 1)));
    case 'bitflip': {
      const b = Buffer.from(seed);
      const flips = rnd.int(1, 8);
      // most flips land in the options (where the lengths are), some in the header
      for (let i = 0; i < flips; i++) b[rnd.chance(0.8) ? rnd.int(240, b.length - 1) : rnd.int(0, 239)] ^= 1 << rnd.int(0, 7);
      return b;
    }
    case 'oversized-option': {
      const offs = optionOffsets(seed);
      const b = Buffer.from(seed);
      const pick = rnd.int(0, 3);
      if (pick === 0 && offs.length) {
        // an option's length claims more than is left
        const at = rnd.pick(offs);
        b[at + 1] = rnd.int(Math.min(255, b.length - at - 1), 255);
        return b;
      }
      if (pick === 1) {
        // one option repeated until the packet is tens of kB (RFC 3396 concatenation)
        const code = rnd.pick([12, 43, 55, 60, 61, 81, 82, 124, 125, 250]);
        const reps = rnd.int(2, 200);
        const parts = [header(rnd, seed), Buffer.from([53, 1, rnd.pick([1, 3])])];
        for (let i = 0; i < reps; i++) parts.push(Buffer.from([code, 255]), rnd.bytes(255));
        parts.push(Buffer.from([255]));
        return Buffer.concat(parts);
      }
      if (pick === 2) {
        // an option with a length byte and nothing after it, at the very end
        return Buffer.concat([seed.subarray(0, offs.length ? rnd.pick(offs) : 240), Buffer.from([rnd.int(1, 254), rnd.int(1, 255)])]);
      }
      // fixed-length options with the wrong length (53, 50, 54, 51, 57)
      const code = rnd.pick([53, 50, 54, 51, 57, 1, 3, 61]);
      const len = rnd.pick([0, 1, 2, 3, 5, 7, 255]);
      return Buffer.concat([header(rnd, seed), Buffer.from([53, 1, 1]), Buffer.from([code, len]), rnd.bytes(len), Buffer.from([255])]);
    }
    case 'option-soup': {
      // a real header and cookie, then random options: codes, lengths and values
      const parts = [header(rnd, seed)];
      const n = rnd.int(0, 40);
      for (let i = 0; i < n; i++) {
        const code = rnd.chance(0.5) ? rnd.pick([0, 1, 3, 12, 43, 50, 51, 52, 53, 54, 55, 57, 60, 61, 82, 150, 255]) : rnd.int(0, 255);
        if (code === 0 || code === 255) { parts.push(Buffer.from([code])); continue; }
        const len = rnd.chance(0.1) ? rnd.int(0, 255) : rnd.int(0, 12);
        parts.push(Buffer.from([code, len]), code === 60 || code === 12 ? Buffer.concat([nastyString(rnd), Buffer.alloc(255)]).subarray(0, len) : rnd.bytes(len));
      }
      if (rnd.chance(0.7)) parts.push(Buffer.from([255]));
      return Buffer.concat(parts);
    }
    case 'relay-agent-info': {
      // option 82 with sub-options that do or do not tile it, as a relay would append it
      const offs = optionOffsets(seed);
      const end = offs.length ? offs[offs.length - 1] + 2 + seed[offs[offs.length - 1] + 1] : 240;
      const subs: Buffer[] = [];
      const k = rnd.int(0, 5);
      for (let i = 0; i < k; i++) {
        const l = rnd.int(0, 20);
        subs.push(Buffer.from([rnd.pick([1, 2, 5, 9, 151]), rnd.chance(0.3) ? l + rnd.int(1, 30) : l]), rnd.bytes(l));
      }
      let v = Buffer.concat(subs).subarray(0, 255);
      if (rnd.chance(0.2)) v = Buffer.concat([v, Buffer.from([1])]).subarray(0, 255); // dangling sub-option code
      const b = Buffer.concat([seed.subarray(0, end), Buffer.from([82, v.length]), v, Buffer.from([255])]);
      b[24] = 10; b[25] = 79; b[26] = 1; b[27] = 1; // giaddr: a relay nobody serves
      return b;
    }
    case 'overload': {
      // option 52 pointing at file/sname with random or option-shaped content
      const b = Buffer.from(header(rnd, seed));
      const value = rnd.pick([0, 1, 2, 3, 4, 255]);
      const tail = [53, 1, rnd.pick([1, 3]), 52, rnd.chance(0.9) ? 1 : rnd.int(0, 3), value, ...(rnd.chance(0.8) ? [255] : [])];
      for (const [start, end] of [[108, 236], [44, 108]]) {
        if (rnd.chance(0.5)) rnd.bytes(end - start).copy(b, start);
        else {
          // options that may or may not fit the field
          let i = start;
          while (i < end - 2 && rnd.chance(0.8)) {
            const len = rnd.int(0, 30);
            b[i] = rnd.pick([12, 60, 61, 52, 0, 255]);
            b[i + 1] = len;
            i += 2 + len;
          }
        }
      }
      return Buffer.concat([b, Buffer.from(tail)]);
    }
    case 'fields': {
      // well-formed requests with random header fields and option values: the server's logic
      const type = rnd.pick([1, 1, 3, 3, 4, 7, 8, 2, 5, 0, 9, 200]);
      const h = header(rnd, seed);
      h[0] = rnd.chance(0.95) ? 1 : rnd.int(0, 3);
      if (rnd.chance(0.05)) { h[1] = rnd.int(0, 40); h[2] = rnd.int(0, 16); }
      h[3] = rnd.int(0, 3);
      if (rnd.chance(0.5)) rnd.bytes(6).copy(h, 28); // chaddr
      const ip = (): Buffer => rnd.chance(0.5) ? Buffer.from([10, 79, 0, rnd.int(0, 255)]) : rnd.bytes(4);
      if (rnd.chance(0.3)) ip().copy(h, 12); else h.fill(0, 12, 16);            // ciaddr
      if (rnd.chance(0.2)) ip().copy(h, 24); else h.fill(0, 24, 28);            // giaddr
      const opts: Buffer[] = [Buffer.from([53, 1, type])];
      if (rnd.chance(0.6)) opts.push(Buffer.from([50, 4]), ip());
      if (rnd.chance(0.4)) opts.push(Buffer.from([54, 4]), rnd.chance(0.5) ? Buffer.from([10, 79, 0, 2]) : ip());
      if (rnd.chance(0.7)) { const v = nastyString(rnd); opts.push(Buffer.from([60, v.length]), v); }
      if (rnd.chance(0.5)) { const v = Buffer.concat([Buffer.from([rnd.int(0, 1)]), nastyString(rnd)]).subarray(0, 255); opts.push(Buffer.from([61, v.length]), v); }
      if (rnd.chance(0.5)) { const v = nastyString(rnd); opts.push(Buffer.from([12, v.length]), v); }
      if (rnd.chance(0.2)) { const v = Buffer.from([1, 4, ...rnd.bytes(4), 2, 3, ...rnd.bytes(3)]); opts.push(Buffer.from([82, v.length]), v); }
      return Buffer.concat([h, ...opts, Buffer.from([255]), Buffer.alloc(rnd.int(0, 60))]);
    }
    default:
      throw new Error(`unknown mutation ${m as string}`);
  }
}

/** `count` hostile packets, cycling through the mutations so each gets its share. */
export function* dhcpFuzzPackets(seed: number, count: number, corpus: Seed[] = loadCorpus()): Generator<FuzzPacket> {
  const rnd = new Prng(seed);
  const requests = corpus.filter((s) => !s.name.startsWith('server-'));
  for (let i = 0; i < count; i++) {
    const m = MUTATIONS[i % MUTATIONS.length];
    const s = rnd.pick(m === 'fields' || m === 'relay-agent-info' ? requests : corpus);
    yield { mutation: m, seed: s.name, bytes: mutate(rnd, m, s.bytes) };
  }
}
