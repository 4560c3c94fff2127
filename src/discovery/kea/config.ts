// Kea DHCPv4 configuration for the onboarding fabrics (DHCP_BACKEND=kea), pure: the same
// answers the built-in server gives (src/discovery/dhcp/server.ts, docs/discovery.md), written
// as Kea 2.2 (Debian 12) JSON. Per management subnet: its pool minus gateway and our own
// address, routers, the fabric's lease time with T1/T2 at 50 % / 87.5 %. Per device a host
// reservation (client-id = type 0 + serial, or hw-address) carrying its ZTP options and its
// one-time token; clients without a reservation get an address for `learnLeaseSeconds` only
// and no ZTP options, until the backend has learned them from their lease and reserved them.
import { contains, formatIp, hostRange, parseCidr, parseIp } from '../../domain/ipv4';
import type { ActiveFabric } from '../dhcp/leases';
import { fallbackPlatform, findPlatform, platformsPerDhcpForm } from '../../platforms';

/** A platform's name (src/platforms); its ztp.dhcpOptions is the option form its hosts get. */
export type ZtpPlatform = string;

/** One reserved client and the token(s) its ZTP URL(s) carry. */
export interface KeaHost {
  fabric: string;
  /** the serial in the URL (for a MAC-only host: the MAC without colons, as the built-in server does) */
  serial: string;
  /** client identifier, hex without separators (type 0 + serial for a serial) */
  clientId?: string;
  mac?: string;
  ip?: string;
  /** known platform: its own option form; unknown (a learned host): both forms, one token each */
  platform?: ZtpPlatform;
  /** platform -> token (one per platform the host may be, platformsPerDhcpForm when unknown) */
  tokens: Record<string, string>;
}

export interface KeaConfigInput {
  interface: string;
  serverAddress: string;
  ztpBaseUrl: string;
  controlSocket: string;
  leaseFile: string;
  logFile: string;
  leaseCmdsLibrary: string;
  fabrics: ActiveFabric[];
  hosts: KeaHost[];
  /** lease time of a client nobody reserved yet (short: it comes back soon for its ZTP options) */
  learnLeaseSeconds: number;
}

/** `00` + the serial's bytes: the client identifier a twin device (and a serial-keyed box) sends. */
export function serialClientId(serial: string): string {
  return `00${Buffer.from(serial, 'latin1').toString('hex')}`;
}

/** The serial of a client identifier of type 0 with printable text, else undefined. */
export function serialOfClientId(hex: string | undefined): string | undefined {
  if (!hex || !/^00([0-9a-f]{2})+$/i.test(hex)) return undefined;
  const text = Buffer.from(hex.slice(2), 'hex').toString('latin1');
  return /^[\x21-\x7e]+$/.test(text) ? text : undefined;
}

const colons = (hex: string): string => hex.toLowerCase().match(/../g)!.join(':');

/** Kea subnet ids must stay the same across reloads (leases refer to them): the network address. */
export function subnetId(cidr: string): number {
  const c = parseCidr(cidr);
  if (!c.ok) throw new Error(`kea: management subnet ${cidr} ${c.reason}`);
  return Math.min(Math.max(c.cidr.base >>> 0, 1), 4294967294);
}

/** Pool ranges of a subnet: its host range (or rangeStart..rangeEnd) without the excluded addresses. */
export function poolRanges(cidr: string, o: { rangeStart?: string; rangeEnd?: string; exclude: string[] }): string[] {
  const c = parseCidr(cidr);
  if (!c.ok) throw new Error(`kea: management subnet ${cidr} ${c.reason}`);
  const { first, count } = hostRange(c.cidr);
  const lo = Math.max(first, o.rangeStart ? parseIp(o.rangeStart) ?? first : first);
  const hi = Math.min(first + count - 1, o.rangeEnd ? parseIp(o.rangeEnd) ?? first + count - 1 : first + count - 1);
  const cuts = o.exclude.map((a) => parseIp(a)).filter((n): n is number => n !== undefined && n >= lo && n <= hi).sort((a, b) => a - b);
  const out: string[] = [];
  let start = lo;
  for (const x of [...cuts, hi + 1]) {
    if (x > start) out.push(`${formatIp(start)} - ${formatIp(x - 1)}`);
    start = Math.max(start, x + 1);
  }
  return out;
}

function ztpHost(base: string, serverAddress: string): string {
  try {
    const h = new URL(base).hostname;
    return parseIp(h) !== undefined ? h : serverAddress;
  } catch { return serverAddress; }
}

/** Juniper option 43 sub-options (code, length, value) as hex. */
function subOptionsHex(subs: [number, string][]): string {
  return subs.map(([code, v]) => {
    const b = Buffer.from(v, 'latin1');
    if (b.length > 255) throw new Error(`kea: option 43 sub-option ${code} is longer than 255 bytes`);
    return Buffer.concat([Buffer.from([code, b.length]), b]).toString('hex');
  }).join('');
}

/**
 * A host's ZTP options as the built-in server sends them: Juniper -> 43 (1 config file name,
 * 3 `http`, 5 HTTP port when not 80) + 150 + 66; everyone else -> 67 full URL + 66.
 * A host of unknown platform gets both (a Junos box reads 43, the twin's agent 67 first).
 */
/** The platforms a host may be: its own when known, else one per DHCP option form. */
export function ztpPlatformsOf(h: Pick<KeaHost, 'platform'>): ZtpPlatform[] {
  return h.platform ? [h.platform] : platformsPerDhcpForm().map((m) => m.name);
}

export function ztpOptionData(h: KeaHost, ztpBaseUrl: string, serverAddress: string): object[] {
  const url = new URL(ztpBaseUrl.replace(/\/+$/, ''));
  const host = ztpHost(ztpBaseUrl, serverAddress);
  const path = (token: string): string => `${url.pathname.replace(/\/+$/, '')}/ztp/${encodeURIComponent(h.serial)}?t=${token}`;
  const out: object[] = [{ name: 'tftp-server-name', data: host }];
  for (const p of ztpPlatformsOf(h)) {
    const token = Object.hasOwn(h.tokens, p) ? h.tokens[p] : undefined;
    if (!token) continue;
    if ((findPlatform(p) ?? fallbackPlatform()).ztp.dhcpOptions === 'juniper') {
      const subs: [number, string][] = [[1, path(token).replace(/^\//, '')], [3, 'http']];
      if (url.port) subs.push([5, url.port]);
      out.push({ code: 43, 'csv-format': false, data: subOptionsHex(subs) });
      out.push({ code: 150, 'csv-format': false, data: Buffer.from(host.split('.').map(Number)).toString('hex') });
    } else out.push({ name: 'boot-file-name', data: `${url.origin}${path(token)}` });
  }
  return out;
}

function reservation(h: KeaHost, i: KeaConfigInput): object {
  const r: Record<string, unknown> = h.clientId ? { 'client-id': colons(h.clientId) } : { 'hw-address': h.mac!.toLowerCase() };
  if (h.ip) r['ip-address'] = h.ip;
  r['option-data'] = ztpOptionData(h, i.ztpBaseUrl, i.serverAddress);
  return r;
}

/** The whole `{Dhcp4: ...}` document. Subnets of two fabrics with the same CIDR: the first wins. */
export function keaConfig(i: KeaConfigInput): { Dhcp4: Record<string, unknown> } {
  const seen = new Set<string>();
  const subnets: object[] = [];
  for (const f of i.fabrics) {
    for (const s of f.subnets) {
      if (seen.has(s.cidr)) continue;
      seen.add(s.cidr);
      const c = parseCidr(s.cidr);
      if (!c.ok) throw new Error(`kea: management subnet ${s.cidr} of fabric ${f.fabric} ${c.reason}`);
      const inSubnet = (ip?: string): boolean => ip !== undefined && parseIp(ip) !== undefined && contains(c.cidr, parseIp(ip)!);
      // Kea refuses a whole config with two reservations of one address or one identifier: first wins
      const ids = new Set<string>();
      const hosts = i.hosts.filter((h) => {
        if (h.fabric !== f.fabric || !(h.clientId || h.mac) || (h.ip && !inSubnet(h.ip))) return false;
        const keys = [h.clientId ? `cid:${h.clientId.toLowerCase()}` : `hw:${h.mac!.toLowerCase()}`, ...(h.ip ? [`ip:${h.ip}`] : [])];
        if (keys.some((k) => ids.has(k))) return false;
        for (const k of keys) ids.add(k);
        return true;
      });
      subnets.push({
        id: subnetId(s.cidr),
        subnet: s.cidr,
        'valid-lifetime': f.leaseSeconds,
        'min-valid-lifetime': Math.min(f.leaseSeconds, i.learnLeaseSeconds),
        'max-valid-lifetime': f.leaseSeconds,
        'next-server': ztpHost(i.ztpBaseUrl, i.serverAddress),
        pools: poolRanges(s.cidr, { rangeStart: s.rangeStart, rangeEnd: s.rangeEnd, exclude: [s.gateway, i.serverAddress] }).map((pool) => ({ pool })),
        'option-data': [{ name: 'routers', data: s.gateway }],
        // a host without an address (listed by serial only) is reserved in every subnet of its fabric
        reservations: hosts.map((h) => reservation(h, i)),
      });
    }
  }
  return {
    Dhcp4: {
      // a bridge without a port up yet is not RUNNING: Kea keeps trying to open its socket there
      'interfaces-config': { interfaces: [i.interface], 'dhcp-socket-type': 'raw', 'service-sockets-max-retries': 1_000_000, 'service-sockets-retry-wait-time': 1000 },
      'control-socket': { 'socket-type': 'unix', 'socket-name': i.controlSocket },
      'lease-database': { type: 'memfile', persist: true, name: i.leaseFile, 'lfc-interval': 3600 },
      'hooks-libraries': [{ library: i.leaseCmdsLibrary }],
      'host-reservation-identifiers': ['client-id', 'hw-address'],
      // the built-in server identifies by client-id first, as here
      'match-client-id': true,
      authoritative: true,
      'calculate-tee-times': true,
      't1-percent': 0.5,
      't2-percent': 0.875,
      'valid-lifetime': 3600,
      'client-classes': [{
        // evaluated after the host lookup (it tests KNOWN): a client nobody reserved
        name: 'fz-unreserved', test: "not member('KNOWN')",
        'valid-lifetime': i.learnLeaseSeconds, 'min-valid-lifetime': i.learnLeaseSeconds, 'max-valid-lifetime': i.learnLeaseSeconds,
      }],
      'subnet4': subnets,
      loggers: [
        { name: 'kea-dhcp4', 'output_options': [{ output: i.logFile, maxsize: 10_485_760, maxver: 2 }], severity: 'INFO' },
        // the backend's once-a-second lease4-get-all is not news
        { name: 'kea-dhcp4.commands', 'output_options': [{ output: i.logFile, maxsize: 10_485_760, maxver: 2 }], severity: 'WARN' },
      ],
    },
  };
}
