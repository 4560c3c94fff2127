// DHCP packets. The `dhcp` package codes the fixed BOOTP header; the options are coded here,
// because the package drops options it does not know (82, 150) with a console error, reads
// client identifiers as text and skips two bytes on a pad option.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const protocol: { parse(b: Buffer): any; format(d: any): { _data: Buffer; _w: number } } = require('dhcp/lib/protocol.js');

export const MSG = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export const MSG_NAME: Record<number, string> = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k]));

export const OPT = {
  subnetMask: 1, router: 3, hostName: 12, vendorSpecific: 43, requestedIp: 50, leaseTime: 51,
  messageType: 53, serverId: 54, paramList: 55, message: 56, renewalT1: 58, rebindingT2: 59,
  vendorClass: 60, clientId: 61, tftpServerName: 66, bootfileName: 67, relayAgentInfo: 82,
  tftpServerAddress: 150,
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
  /** lower-case aa:bb:cc:dd:ee:ff */
  chaddr: string;
  sname: string;
  file: string;
  /** option code -> raw value, in the order received (order kept for echoing 82 last) */
  options: Map<number, Buffer>;
}

const HEADER = 240; // 236 bytes of BOOTP + the magic cookie

export function decode(buf: Buffer): DhcpPacket {
  if (buf.length < HEADER) throw new Error(`DHCP packet too short (${buf.length} bytes)`);
  if (buf.readUInt32BE(236) !== 0x63825363) throw new Error('DHCP packet without the magic cookie');
  // Header through the package's codec, options cut off (an end marker right after the cookie).
  const head = Buffer.alloc(HEADER + 1);
  buf.copy(head, 0, 0, HEADER);
  head[HEADER] = 255;
  const h = protocol.parse(head);
  const options = new Map<number, Buffer>();
  let i = HEADER;
  while (i < buf.length) {
    const code = buf[i++];
    if (code === 255) break;
    if (code === 0) continue;
    if (i >= buf.length) throw new Error(`DHCP option ${code} truncated`);
    const len = buf[i++];
    if (i + len > buf.length) throw new Error(`DHCP option ${code} truncated`);
    const v = buf.subarray(i, i + len);
    // RFC 3396: a repeated option is concatenated.
    options.set(code, options.has(code) ? Buffer.concat([options.get(code)!, v]) : Buffer.from(v));
    i += len;
  }
  return { ...h, chaddr: String(h.chaddr).toLowerCase().replace(/-/g, ':'), options };
}

export function encode(p: DhcpPacket): Buffer {
  const sb = protocol.format({ ...p, chaddr: p.chaddr, options: {} });
  const parts: Buffer[] = [sb._data.subarray(0, HEADER)];
  // Message type first (some clients expect it), relay agent information last (RFC 3046).
  const codes = [...p.options.keys()].sort((a, b) => (a === 53 ? -1 : b === 53 ? 1 : a === 82 ? 1 : b === 82 ? -1 : 0));
  for (const code of codes) {
    let v = p.options.get(code)!;
    // RFC 3396: long options split into consecutive instances.
    do {
      const part = v.subarray(0, 255);
      parts.push(Buffer.from([code, part.length]), part);
      v = v.subarray(255);
    } while (v.length > 0);
  }
  parts.push(Buffer.from([255]));
  const out = Buffer.concat(parts);
  // BOOTP minimum of 300 bytes: some clients drop shorter replies.
  return out.length >= 300 ? out : Buffer.concat([out, Buffer.alloc(300 - out.length)]);
}

// ---- option value helpers

export const ip4 = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));
export const ipList = (ips: string[]): Buffer => Buffer.concat(ips.map(ip4));
export const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const str = (s: string): Buffer => Buffer.from(s, 'utf8');
export const readIp = (b?: Buffer): string | undefined => (b && b.length >= 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : undefined);
export const readStr = (b?: Buffer): string | undefined => (b ? b.toString('utf8').replace(/\0+$/, '') : undefined);

/** Encapsulated sub-options (option 43 and 82 share the code/length layout). */
export function subOptions(entries: [number, Buffer][]): Buffer {
  return Buffer.concat(entries.map(([c, v]) => Buffer.concat([Buffer.from([c, v.length]), v])));
}
export function parseSubOptions(b: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (let i = 0; i + 2 <= b.length;) {
    const c = b[i];
    const l = b[i + 1];
    m.set(c, b.subarray(i + 2, i + 2 + l));
    i += 2 + l;
  }
  return m;
}

export function messageType(p: DhcpPacket): number | undefined {
  return p.options.get(OPT.messageType)?.[0];
}
