// FRR verify reader: the device agent's <get> of its frr-state tree over NETCONF, parsed into
// OperState (docs/device-agent.md). Never a shell.
import type { NetconfClient, RpcOptions } from '../../netconf/client';
import { childText, findAll, parseFragment } from '../../netconf/xml';
import type { OperState } from '../types';
import { NS_FRR } from './config';

const FRR_AFI: Record<string, string> = { ipv4Unicast: 'ipv4', l2VpnEvpn: 'evpn' };

/** The device agent's <get> data (frr-state tree, docs/device-agent.md §5). */
export function parseFrrState(data: string): OperState {
  const nodes = parseFragment(data);
  const st = findAll(nodes, 'frr-state')[0];
  const out: OperState = { bgp: [], routes: [] };
  if (!st) return out;
  for (const n of findAll(st.children, 'bgp').flatMap((b) => findAll(b.children, 'neighbor'))) {
    const vrf = childText(n, 'vrf') ?? 'default';
    if (vrf !== 'default') continue;
    const afi = childText(n, 'afi') ?? '';
    out.bgp.push({ peer: childText(n, 'address') ?? '', afi: FRR_AFI[afi] ?? afi, state: childText(n, 'state') ?? 'Unknown' });
  }
  for (const r of findAll(st.children, 'routes').flatMap((b) => findAll(b.children, 'route'))) {
    const p = childText(r, 'prefix');
    if (p) out.routes.push(p);
  }
  // <bfd><peer><address/><vrf/><status/></peer></bfd> (FRR's status: up, down, init ...); an agent
  // without the tree leaves bfd undefined (a note, not a failure).
  const bfd = findAll(st.children, 'bfd')[0];
  if (bfd) {
    out.bfd = findAll(bfd.children, 'peer')
      .filter((p) => (childText(p, 'vrf') ?? 'default') === 'default')
      .map((p) => ({ peer: childText(p, 'address') ?? childText(p, 'peer') ?? '', state: childText(p, 'status') ?? childText(p, 'state') ?? '' }));
  }
  return out;
}

export async function frrReadOperState(client: NetconfClient, ro?: RpcOptions): Promise<OperState> {
  return parseFrrState(await client.get(`<frr-state xmlns="${NS_FRR}"/>`, ro));
}
