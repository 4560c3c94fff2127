// Who is asking: vendor class `<Vendor>-<model>-<serial>` (as Junos sends it), client
// identifier (type 0 + serial, or type 1 + MAC), host name. Pure.
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

export function parseVendorClass(vc: string): { vendor: string; model: string; serial: string } | undefined {
  const parts = vc.split('-');
  if (parts.length < 3 || parts.some((p) => p === '')) return undefined;
  return { vendor: parts[0], model: parts.slice(1, -1).join('-'), serial: parts[parts.length - 1] };
}

export function identify(p: DhcpPacket): ClientIdentity {
  const id: ClientIdentity = { mac: p.chaddr };
  const vc = readStr(p.options.get(OPT.vendorClass));
  if (vc) {
    id.vendorClass = vc;
    const v = parseVendorClass(vc);
    if (v) Object.assign(id, v);
  }
  const cid = p.options.get(OPT.clientId);
  if (cid && cid.length > 0) {
    id.clientId = cid.toString('hex');
    const text = cid.subarray(1).toString('latin1');
    if (!id.serial && cid[0] === 0 && /^[\x21-\x7e]+$/.test(text)) id.serial = text;
  }
  const hn = readStr(p.options.get(OPT.hostName));
  if (hn) {
    id.hostName = hn;
    if (!id.serial && /^[A-Za-z0-9._-]+$/.test(hn)) id.serial = hn;
  }
  return id;
}

/** Platform of the bootstrap template from the vendor class (each platform's ztp.dhcpClient). */
export function platformFor(id: ClientIdentity): string {
  return platformOfDhcpClient(id).name;
}
