// RMA, the pure parts (issue 15): which input is acceptable, and the LLDP re-check of the
// replacement's cabling against the links stored before. The replacement must sit on the same
// cables as the box it replaces: its peers' configs and the link addresses depend on it.
import { SERIAL_RE } from '../../discovery/dhcp/identity';
import type { LinkEnd } from '../../domain/types';
import { childText, findAll, parseFragment } from '../../netconf/xml';

export interface LldpSeen { localPort: string; remoteSystem?: string; remotePort?: string }
export interface StoredLink { a: LinkEnd; b: LinkEnd }

/** A port whose cable is not where the stored link says (`seen` undefined: nothing heard there). */
export interface CablingAnomaly { port: string; expected: string; seen?: string; message: string }

/** Why `serial` cannot be the replacement's, or undefined when it can. */
export function badSerial(serial: unknown, current: string | null, holder?: string): string | undefined {
  if (typeof serial !== 'string' || !SERIAL_RE.test(serial)) return 'serial: 1-64 of [A-Za-z0-9._-], starting with a letter or digit';
  if (current !== null && serial === current) return `serial: ${serial} is the serial of the box being replaced; give the replacement's`;
  if (holder) return `serial: ${serial} already belongs to device ${holder}`;
  return undefined;
}

/**
 * Every stored link of `device` must be seen by LLDP on its local port, with the stored peer
 * (by device name: LLDP carries the host name the bootstrap set) on the stored peer port.
 * `aliases` maps other names a peer announces (host names, serials) to its device name.
 */
export function checkCabling(device: string, links: readonly StoredLink[], seen: readonly LldpSeen[], aliases: ReadonlyMap<string, string> = new Map()): CablingAnomaly[] {
  const byPort = new Map<string, LldpSeen[]>();
  for (const n of seen) byPort.set(n.localPort, [...(byPort.get(n.localPort) ?? []), n]);
  const out: CablingAnomaly[] = [];
  const mine = links.flatMap((l) => (l.a.device === device ? [{ local: l.a.port, peer: l.b }] : l.b.device === device ? [{ local: l.b.port, peer: l.a }] : []));
  for (const { local, peer } of [...mine].sort((x, y) => x.local.localeCompare(y.local, 'en', { numeric: true }))) {
    const expected = `${peer.device}:${peer.port}`;
    const heard = byPort.get(local) ?? [];
    const name = (n: LldpSeen) => (n.remoteSystem ? aliases.get(n.remoteSystem) ?? n.remoteSystem : '?');
    if (heard.some((n) => name(n) === peer.device && n.remotePort === peer.port)) continue;
    if (!heard.length) {
      out.push({ port: `${device}:${local}`, expected, message: `${device}:${local} should reach ${expected}: LLDP hears nothing on it` });
      continue;
    }
    const got = heard.map((n) => `${name(n)}:${n.remotePort ?? '?'}`).join(', ');
    out.push({ port: `${device}:${local}`, expected, seen: got, message: `${device}:${local} should reach ${expected} but is cabled to ${got}` });
  }
  return out;
}

/** The LLDP neighbours in the FRR twin agent's frr-state tree (docs/device-agent.md). */
export function parseFrrLldp(data: string): LldpSeen[] {
  const st = findAll(parseFragment(data), 'frr-state')[0];
  if (!st) return [];
  return findAll(st.children, 'lldp').flatMap((l) => findAll(l.children, 'neighbor')).map((n) => ({
    localPort: childText(n, 'local-port') ?? '',
    ...(childText(n, 'remote-system-name') ? { remoteSystem: childText(n, 'remote-system-name') } : {}),
    ...(childText(n, 'remote-port') ? { remotePort: childText(n, 'remote-port') } : {}),
  })).filter((n) => n.localPort !== '');
}

const MAC_RE = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/**
 * Junos `<get-lldp-neighbors-information/>` (`show lldp neighbors`): one
 * <lldp-neighbor-information> per neighbour. The local port is <lldp-local-interface> where the
 * release has it (there <lldp-local-port-id> may be the SNMP ifIndex, "513"), else
 * <lldp-local-port-id>; an EX-style unit suffix ("ge-0/0/0.0") is dropped, LLDP runs on the
 * physical port. The remote port is <lldp-remote-port-id> when its subtype is "Interface name"
 * (or, without a subtype, when it is neither a MAC address nor a number); otherwise, a MAC (lldpd's
 * default on Linux) or an ifIndex ("Locally assigned"), the name is in <lldp-remote-port-description>.
 */
export function parseJunosLldp(data: string): LldpSeen[] {
  return findAll(parseFragment(data), 'lldp-neighbor-information').map((n) => {
    const t = (name: string) => { const v = childText(n, name)?.trim(); return v && v !== '-' ? v : undefined; };
    const local = (t('lldp-local-interface') ?? t('lldp-local-port-id') ?? '').replace(/\.0$/, '');
    const subtype = t('lldp-remote-port-id-subtype')?.toLowerCase();
    const id = t('lldp-remote-port-id');
    const desc = t('lldp-remote-port-description');
    const idIsName = subtype !== undefined ? subtype === 'interface name' : id !== undefined && !MAC_RE.test(id) && !/^\d+$/.test(id);
    const remotePort = idIsName ? id : desc ?? id;
    const remoteSystem = t('lldp-remote-system-name');
    return { localPort: local, ...(remoteSystem ? { remoteSystem } : {}), ...(remotePort ? { remotePort } : {}) };
  }).filter((n) => n.localPort !== '');
}

/** The RPC that reads a platform's LLDP neighbours over NETCONF, and its parser. */
export function lldpReaderFor(platform: string): { rpc: string; parse: (xml: string) => LldpSeen[] } | undefined {
  if (platform === 'junos') return { rpc: '<get-lldp-neighbors-information/>', parse: parseJunosLldp };
  return undefined;
}
