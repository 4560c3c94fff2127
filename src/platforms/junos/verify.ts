// Junos verify readers: get-bgp-summary-information / get-bfd-session-information /
// get-route-information over NETCONF, parsed into OperState. Never a shell.
import type { NetconfClient, RpcOptions } from '../../netconf/client';
import { childText, findAll, parseFragment, type XmlElement } from '../../netconf/xml';
import type { BfdSessionState, BgpSessionState, OperState } from '../types';

const JUNOS_RIB: Record<string, string> = { 'inet.0': 'ipv4', 'bgp.evpn.0': 'evpn' };

/** get-bgp-summary-information reply: <bgp-peer> with peer-address (maybe "+port"), peer-state, bgp-rib. */
export function parseJunosBgpSummary(xml: string): BgpSessionState[] {
  const out: BgpSessionState[] = [];
  for (const p of findAll(parseFragment(xml), 'bgp-peer')) {
    const peer = (childText(p, 'peer-address') ?? '').replace(/\+\d+$/, '');
    const state = childText(p, 'peer-state') ?? 'Unknown';
    const ribs = p.children.filter((c): c is XmlElement => c.type === 'element' && c.name === 'bgp-rib').map((r) => childText(r, 'name') ?? '');
    const afis = ribs.map((r) => JUNOS_RIB[r]).filter((x): x is string => !!x);
    if (afis.length === 0) out.push({ peer, state });
    else for (const afi of afis) out.push({ peer, afi, state });
  }
  return out;
}

/** get-bfd-session-information reply: <bfd-session> session-neighbor + session-state (Up/Down). */
export function parseJunosBfd(xml: string): BfdSessionState[] {
  return findAll(parseFragment(xml), 'bfd-session').map((s) => ({ peer: childText(s, 'session-neighbor') ?? '', state: childText(s, 'session-state') ?? '' }));
}

/** get-route-information reply: inet.0 rt-destination prefixes. */
export function parseJunosRoutes(xml: string): string[] {
  const out: string[] = [];
  for (const t of findAll(parseFragment(xml), 'route-table')) {
    const name = childText(t, 'table-name');
    if (name && name !== 'inet.0') continue;
    for (const rt of findAll(t.children, 'rt')) {
      const d = childText(rt, 'rt-destination');
      if (d) out.push(d.includes('/') ? d : `${d}/32`);
    }
  }
  return out;
}

export async function junosReadOperState(client: NetconfClient, ro?: RpcOptions): Promise<OperState> {
  const [bgp, bfd, routes] = await Promise.all([
    client.rpc('<get-bgp-summary-information/>', ro),
    client.rpc('<get-bfd-session-information/>', ro),
    client.rpc('<get-route-information><table>inet.0</table><protocol>bgp</protocol></get-route-information>', ro),
  ]);
  return { bgp: parseJunosBgpSummary(bgp.xml), bfd: parseJunosBfd(bfd.xml), routes: parseJunosRoutes(routes.xml) };
}
