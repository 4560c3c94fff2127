// BOOTP/DHCP messages (RFC 951, RFC 2131 §2, RFC 2132), our own strict codec. Every packet
// comes from the network, so decode() checks each length before it reads and refuses what it
// cannot read unambiguously with a DhcpDecodeError naming the kind and the byte offset.
// - fixed header (236 bytes), magic cookie, options with pad (0) and end (255);
// - a repeated option is concatenated (RFC 3396), in the order options, file, sname;
// - option overload (52, RFC 2132 §9.3): options in `file` and/or `sname` are read; encode()
//   never produces it (our replies fit the options field) and refuses option 52;
// - lengths of the options the server reads are checked (53, 50, 54, 51, 1, 3, 61, ...);
// - relay agent information (82, RFC 3046): the sub-options must tile the option exactly;
// - no end option: accepted when the options end exactly at the end of the packet; bytes
//   after the end option are padding and not read.

export const MSG = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
const MSG_NAMES = new Map<number, string>(Object.entries(MSG).map(([k, v]) => [v, k]));
/** DISCOVER, ..., or `type N` for a type we do not know (N from the packet) */
export const messageName = (t: number | undefined): string => (t === undefined ? 'message without type' : MSG_NAMES.get(t) ?? `type ${t}`);

export const OPT = {
  pad: 0, subnetMask: 1, router: 3, hostName: 12, vendorSpecific: 43, requestedIp: 50, leaseTime: 51,
  overload: 52, messageType: 53, serverId: 54, paramList: 55, message: 56, maxMessageSize: 57, renewalT1: 58,
  rebindingT2: 59, vendorClass: 60, clientId: 61, tftpServerName: 66, bootfileName: 67, relayAgentInfo: 82,
  tftpServerAddress: 150, end: 255,
} as const;

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** the first hlen bytes of chaddr, lower-case hex pairs joined by ':' (aa:bb:cc:dd:ee:ff) */
  chaddr: string;
  /** up to the first NUL (latin1); '' when the field carries options (overload) */
  sname: string;
  file: string;
  /** option code -> value (repeats concatenated), in the order first seen (kept for echoing 82 last) */
  options: Map<number, Buffer>;
}

export type DhcpDecodeErrorKind =
  | 'short'           // under 240 bytes: no room for the header and the cookie
  | 'op'              // op is neither 1 (request) nor 2 (reply)
  | 'hlen'            // hardware address longer than the 16-byte chaddr field
  | 'cookie'          // no magic cookie 99.130.83.99: BOOTP without DHCP, or not BOOTP at all
  | 'truncated'       // an option's length runs past the end of its field
  | 'option-length'   // an option we read has a length it cannot have (53 not 1 byte, ...)
  | 'overload'        // option 52 malformed, or inside an overloaded field
  | 'relay-agent-info';// option 82 whose sub-options do not fit it

export class DhcpDecodeError extends Error {
  constructor(readonly kind: DhcpDecodeErrorKind, message: string, readonly offset = -1) {
    super(message);
    this.name = 'DhcpDecodeError';
  }
}

const COOKIE = 0x63825363;
const HEADER = 240; // 236 bytes of BOOTP + the magic cookie
const SNAME = { start: 44, end: 108 };
const FILE = { start: 108, end: 236 };
/** BOOTP minimum message size (RFC 951): some clients drop shorter replies */
const MIN_SIZE = 300;

/** Allowed lengths of the options the server reads: [min, max, multiple of]. */
const LENGTHS = new Map<number, [number, number, number]>([
  [OPT.subnetMask, [4, 4, 1]], [OPT.router, [4, 252, 4]], [OPT.hostName, [1, 255, 1]], [OPT.requestedIp, [4, 4, 1]],
  [OPT.leaseTime, [4, 4, 1]], [OPT.overload, [1, 1, 1]], [OPT.messageType, [1, 1, 1]], [OPT.serverId, [4, 4, 1]],
  [OPT.maxMessageSize, [2, 2, 1]], [OPT.renewalT1, [4, 4, 1]], [OPT.rebindingT2, [4, 4, 1]], [OPT.vendorClass, [1, 255, 1]],
  [OPT.clientId, [2, 255, 1]], [OPT.tftpServerAddress, [4, 252, 4]],
]);

function readIpAt(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function cString(b: Buffer, start: number, end: number): string {
  const nul = b.indexOf(0, start);
  return b.toString('latin1', start, nul < 0 || nul > end ? end : nul);
}

/** Reads the options of one field into `parts`; returns the overload value when option 52 is met. */
function readField(b: Buffer, start: number, end: number, where: string, parts: Map<number, Buffer[]>, overloadAllowed: boolean): number | undefined {
  let overload: number | undefined;
  let i = start;
  while (i < end) {
    const code = b[i];
    if (code === OPT.pad) { i++; continue; }
    if (code === OPT.end) return overload;
    if (i + 1 >= end) throw new DhcpDecodeError('truncated', `DHCP option ${code} truncated: at byte ${i} of the ${where}, no length byte`, i);
    const len = b[i + 1];
    if (i + 2 + len > end) {
      throw new DhcpDecodeError('truncated', `DHCP option ${code} truncated: at byte ${i} of the ${where}, length ${len} runs past its end (${end - i - 2} bytes left)`, i);
    }
    if (code === OPT.overload) {
      if (!overloadAllowed) throw new DhcpDecodeError('overload', `DHCP option overload (52) at byte ${i} inside the overloaded ${where}`, i);
      if (len !== 1 || b[i + 2] < 1 || b[i + 2] > 3) throw new DhcpDecodeError('overload', `DHCP option overload (52) at byte ${i} must be one byte 1, 2 or 3`, i);
      overload = b[i + 2];
    }
    const list = parts.get(code);
    const v = b.subarray(i + 2, i + 2 + len);
    if (list) list.push(v); else parts.set(code, [v]);
    i += 2 + len;
  }
  return overload;
}

/** Decodes one BOOTP/DHCP message; throws DhcpDecodeError for anything malformed. */
export function decode(buf: Buffer): DhcpPacket {
  if (buf.length < HEADER) throw new DhcpDecodeError('short', `DHCP packet too short (${buf.length} bytes, the header and cookie need ${HEADER})`);
  const op = buf[0];
  if (op !== 1 && op !== 2) throw new DhcpDecodeError('op', `BOOTP op ${op} is neither 1 (request) nor 2 (reply)`, 0);
  const hlen = buf[2];
  if (hlen > 16) throw new DhcpDecodeError('hlen', `hardware address length ${hlen} exceeds the 16-byte chaddr field`, 2);
  if (buf.readUInt32BE(236) !== COOKIE) throw new DhcpDecodeError('cookie', 'DHCP packet without the magic cookie (plain BOOTP is not served)', 236);

  const parts = new Map<number, Buffer[]>();
  const overload = readField(buf, HEADER, buf.length, 'options field', parts, true);
  // RFC 2131 §4.1: options continue in file, then in sname.
  if (overload === 1 || overload === 3) readField(buf, FILE.start, FILE.end, 'file field', parts, false);
  if (overload === 2 || overload === 3) readField(buf, SNAME.start, SNAME.end, 'sname field', parts, false);

  const options = new Map<number, Buffer>();
  for (const [code, list] of parts) {
    const v = list.length === 1 ? Buffer.from(list[0]) : Buffer.concat(list);
    const rule = LENGTHS.get(code);
    if (rule && (v.length < rule[0] || v.length > rule[1] || v.length % rule[2] !== 0)) {
      throw new DhcpDecodeError('option-length', `DHCP option ${code} has ${v.length} bytes (allowed: ${rule[0] === rule[1] ? rule[0] : `${rule[0]}-${rule[1]}`}${rule[2] > 1 ? `, a multiple of ${rule[2]}` : ''})`);
    }
    if (code === OPT.relayAgentInfo) {
      try { parseSubOptions(v); } catch (e) { throw new DhcpDecodeError('relay-agent-info', `DHCP relay agent information (82): ${(e as Error).message}`); }
    }
    options.set(code, v);
  }
  const mac: string[] = [];
  for (let i = 0; i < hlen; i++) mac.push(buf[28 + i].toString(16).padStart(2, '0'));
  return {
    op, htype: buf[1], hlen, hops: buf[3], xid: buf.readUInt32BE(4), secs: buf.readUInt16BE(8), flags: buf.readUInt16BE(10),
    ciaddr: readIpAt(buf, 12), yiaddr: readIpAt(buf, 16), siaddr: readIpAt(buf, 20), giaddr: readIpAt(buf, 24),
    chaddr: mac.join(':'),
    sname: overload === 2 || overload === 3 ? '' : cString(buf, SNAME.start, SNAME.end),
    file: overload === 1 || overload === 3 ? '' : cString(buf, FILE.start, FILE.end),
    options,
  };
}

function writeIpAt(b: Buffer, at: number, ip: string, field: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new RangeError(`DHCP ${field} "${ip}" is not an IPv4 address`);
  for (let i = 0; i < 4; i++) b[at + i] = Number(m[i + 1]);
}

function uint(n: number, max: number, field: string): number {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`DHCP ${field} ${n} is not an integer 0..${max}`);
  return n;
}

/**
 * Encodes a message: options in insertion order, except message type (53) first (some clients
 * expect it) and relay agent information (82) last (RFC 3046); values over 255 bytes are
 * split into consecutive instances (RFC 3396); padded to the BOOTP minimum of 300 bytes.
 */
export function encode(p: DhcpPacket): Buffer {
  const head = Buffer.alloc(HEADER);
  if (p.op !== 1 && p.op !== 2) throw new RangeError(`DHCP op ${p.op} is neither 1 nor 2`);
  head[0] = p.op;
  head[1] = uint(p.htype, 255, 'htype');
  head[3] = uint(p.hops, 255, 'hops');
  head.writeUInt32BE(uint(p.xid, 0xffffffff, 'xid'), 4);
  head.writeUInt16BE(uint(p.secs, 0xffff, 'secs'), 8);
  head.writeUInt16BE(uint(p.flags, 0xffff, 'flags'), 10);
  writeIpAt(head, 12, p.ciaddr, 'ciaddr');
  writeIpAt(head, 16, p.yiaddr, 'yiaddr');
  writeIpAt(head, 20, p.siaddr, 'siaddr');
  writeIpAt(head, 24, p.giaddr, 'giaddr');
  const mac = p.chaddr === '' ? [] : p.chaddr.split(':');
  if (mac.length > 16 || mac.some((x) => !/^[0-9a-fA-F]{2}$/.test(x))) throw new RangeError(`DHCP chaddr "${p.chaddr}" is not up to 16 hex pairs`);
  if (mac.length !== p.hlen) throw new RangeError(`DHCP hlen ${p.hlen} does not match chaddr ${p.chaddr} (${mac.length} bytes)`);
  head[2] = mac.length;
  mac.forEach((x, i) => (head[28 + i] = parseInt(x, 16)));
  for (const [field, v, r] of [['sname', p.sname, SNAME], ['file', p.file, FILE]] as const) {
    const b = Buffer.from(v, 'latin1');
    if (b.length >= r.end - r.start) throw new RangeError(`DHCP ${field} is ${b.length} bytes: at most ${r.end - r.start - 1} fit`);
    b.copy(head, r.start);
  }
  head.writeUInt32BE(COOKIE, 236);

  const parts: Buffer[] = [head];
  const codes = [...p.options.keys()].sort((a, b) => (a === 53 ? -1 : b === 53 ? 1 : a === 82 ? 1 : b === 82 ? -1 : 0));
  for (const code of codes) {
    if (!Number.isInteger(code) || code < 1 || code > 254) throw new RangeError(`DHCP option code ${code} is not 1..254`);
    if (code === OPT.overload) throw new RangeError('DHCP option overload (52) is not produced: our options fit the options field');
    let v = p.options.get(code)!;
    do {
      const part = v.subarray(0, 255);
      parts.push(Buffer.from([code, part.length]), part);
      v = v.subarray(255);
    } while (v.length > 0);
  }
  parts.push(Buffer.from([OPT.end]));
  const out = Buffer.concat(parts);
  return out.length >= MIN_SIZE ? out : Buffer.concat([out, Buffer.alloc(MIN_SIZE - out.length)]);
}

// ---- option value helpers

export const ip4 = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));
export const ipList = (ips: string[]): Buffer => Buffer.concat(ips.map(ip4));
export const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const str = (s: string): Buffer => Buffer.from(s, 'utf8');
export const readIp = (b?: Buffer): string | undefined => (b && b.length >= 4 ? readIpAt(b, 0) : undefined);
export const readStr = (b?: Buffer): string | undefined => (b ? b.toString('utf8').replace(/\0+$/, '') : undefined);

/** Encapsulated sub-options (option 43 and 82 share the code/length layout). */
export function subOptions(entries: [number, Buffer][]): Buffer {
  return Buffer.concat(entries.map(([c, v]) => {
    if (v.length > 255) throw new RangeError(`sub-option ${c} is ${v.length} bytes: at most 255 fit`);
    return Buffer.concat([Buffer.from([c, v.length]), v]);
  }));
}

/** Sub-options, strictly: each one must fit, and together they must fill the option exactly. */
export function parseSubOptions(b: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) throw new Error(`sub-option ${b[i]} at byte ${i} has no length byte`);
    const c = b[i];
    const l = b[i + 1];
    if (i + 2 + l > b.length) throw new Error(`sub-option ${c} at byte ${i}: length ${l} runs past the option (${b.length - i - 2} bytes left)`);
    if (m.has(c)) throw new Error(`sub-option ${c} appears twice`);
    m.set(c, b.subarray(i + 2, i + 2 + l));
    i += 2 + l;
  }
  return m;
}

export function messageType(p: DhcpPacket): number | undefined {
  return p.options.get(OPT.messageType)?.[0];
}
