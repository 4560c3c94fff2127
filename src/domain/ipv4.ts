// Tiny pure IPv4 helpers over unsigned 32-bit numbers. Hand-rolled (not ip-address) because
// allocation and compile run over tens of thousands of addresses and must stay fast.

export interface Cidr {
  /** network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
  /** number of addresses in the block (2^(32-prefix)) */
  size: number;
}

/**
 * Parse dotted-quad IPv4; undefined when malformed. No leading zeros (ambiguous octal).
 * Hand-written scanner: this runs tens of thousands of times per large fabric.
 */
export function parseIp(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= len; i++) {
    const ch = i < len ? text.charCodeAt(i) : 46; // a virtual '.' closes the last octet
    if (ch === 46) {
      if (digits === 0 || octet > 255) return undefined;
      n = n * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (ch - 48);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? n : undefined;
}

export function formatIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** Parse `a.b.c.d/len`; host bits must be zero. */
export function parseCidr(text: unknown): CidrResult {
  if (typeof text !== 'string') return { ok: false, reason: 'is not a string' };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'has no prefix length (expected a.b.c.d/len)' };
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined) return { ok: false, reason: 'has a malformed address' };
  if (!/^(3[0-2]|[12]?\d)$/.test(lenText)) return { ok: false, reason: 'has a prefix length outside 0..32' };
  const prefix = Number(lenText);
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  if (base !== ip) {
    return { ok: false, reason: `has host bits set (did you mean ${formatIp(base)}/${prefix}?)` };
  }
  return { ok: true, cidr: { base, prefix, size } };
}

export function cidrText(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/**
 * Usable host addresses of a block, in order: /31 and /32 use every address (RFC 3021),
 * larger blocks skip the network and broadcast addresses.
 */
export function hostRange(c: Cidr): { first: number; count: number } {
  if (c.prefix >= 31) return { first: c.base, count: c.size };
  return { first: c.base + 1, count: c.size - 2 };
}
