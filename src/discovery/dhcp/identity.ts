// Who is asking: vendor class `<Vendor>-<model>-<serial>` (as Junos sends it), client
// identifier (type 0 + serial, or type 1 + MAC), host name. Pure. Everything here comes from
// the network and ends up in leases, device records and log lines, so only printable ASCII
// is kept: a serial is 1-64 of [A-Za-z0-9._-], a vendor class or host name with anything
// else (control characters, newlines, non-ASCII) is not used at all.
import { platformOfDhcpClient } from '../../platforms';
import { OPT, readStr, type DhcpPacket } from './packet';

export interface ClientIdentity {
  mac: string;
  clientId?: string;   // hex
  serial?: string;
  vendor?: string;
  model?: string;
  vendorClass?: string;
  hostName?: string;
}

export const SERIAL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PRINTABLE_RE = /^[\x20-\x7e]+$/;

export function parseVendorClass(vc: string): { vendor: string; model: string; serial: string } | undefined {
  if (!PRINTABLE_RE.test(vc)) return undefined;
  const parts = vc.split('-');
  if (parts.length < 3 || parts.some((p) => p === '')) return undefined;
  const serial = parts[parts.length - 1];
  if (!SERIAL_RE.test(serial)) return undefined;
  return { vendor: parts[0], model: parts.slice(1, -1).join('-'), serial };
}

export function identify(p: DhcpPacket): ClientIdentity {
  const id: ClientIdentity = { mac: p.chaddr };
  const vc = readStr(p.options.get(OPT.vendorClass));
  if (vc && PRINTABLE_RE.test(vc)) {
    id.vendorClass = vc;
    const v = parseVendorClass(vc);
    if (v) Object.assign(id, v);
  }
  const cid = p.options.get(OPT.clientId);
  if (cid && cid.length > 0) {
    id.clientId = cid.toString('hex');
    const text = cid.subarray(1).toString('latin1');
    if (!id.serial && cid[0] === 0 && SERIAL_RE.test(text)) id.serial = text;
  }
  const hn = readStr(p.options.get(OPT.hostName));
  if (hn && /^[\x21-\x7e]+$/.test(hn)) {
    id.hostName = hn;
    if (!id.serial && SERIAL_RE.test(hn)) id.serial = hn;
  }
  return id;
}

/** Platform of the bootstrap template from the vendor class (each platform's ztp.dhcpClient). */
export function platformFor(id: ClientIdentity): string {
  return platformOfDhcpClient(id).name;
}
