// Verifying the ESI-LAG side of the drain over NETCONF (issue 15: "it verifies that traffic
// moved ... the device's ESI is no longer designated forwarder"; leaving restores and verifies).
//   - FRR: the agent's <evpn-es> tree (zebra's `show evpn es detail json`: esi, accessPort,
//     flags local/remote/df/nonDF/operUp/readyForBgp, vteps). Drained: the device's ES on each
//     drained bond is neither operUp nor df, and every ES peer reports that ES operUp and df (it
//     carries the servers now). Restored: the device's ES is operUp again.
//   - Junos: `get-interface-information` (terse): drained, every member admin down and the ae
//     oper down (an ESI on a down ae is withdrawn, so the peer is the only forwarder); restored,
//     the members admin up and the ae oper up (LACP back).
// Parsers are pure; the waits are bounded.
import type { NetconfClient } from '../../netconf/client';
import { childText, findAll, parseFragment, textOf } from '../../netconf/xml';
import { NS_FRR } from '../../platforms/frr/config';

export interface FrrEs { esi: string; accessPort?: string; flags: string[]; vteps: string[] }
export interface PortState { name: string; admin: string; oper: string }
export interface EsiLag { lag: string; ports: string[] }

/** The agent's <evpn-es> tree; undefined when the agent reports none (an older agent). */
export function parseFrrEs(data: string): FrrEs[] | undefined {
  const st = findAll(parseFragment(data), 'frr-state')[0];
  const tree = st ? findAll(st.children, 'evpn-es')[0] : undefined;
  if (!tree) return undefined;
  return findAll(tree.children, 'es').map((e) => ({
    esi: childText(e, 'esi') ?? '',
    ...(childText(e, 'access-port') ? { accessPort: childText(e, 'access-port') } : {}),
    flags: findAll(e.children, 'flag').map((f) => textOf(f).trim()),
    vteps: findAll(e.children, 'vtep').map((v) => textOf(v).trim()),
  }));
}

/** Junos `<get-interface-information>`: physical interfaces with admin and oper status (names trimmed). */
export function parseJunosPorts(data: string): PortState[] {
  return findAll(parseFragment(data), 'physical-interface').map((p) => ({
    name: (childText(p, 'name') ?? '').trim(), admin: (childText(p, 'admin-status') ?? '').trim(), oper: (childText(p, 'oper-status') ?? '').trim(),
  })).filter((p) => p.name !== '');
}

/** What is not yet as a drain needs it on the device itself (empty: drained). */
export function drainProblems(platform: string, lags: readonly EsiLag[], seen: FrrEs[] | PortState[] | undefined): string[] {
  if (!seen) return ['the device reports no EVPN ES state: the ES drain cannot be verified'];
  const out: string[] = [];
  for (const l of lags) {
    if (platform === 'frr') {
      const es = (seen as FrrEs[]).find((e) => e.accessPort === l.lag);
      if (es?.flags.includes('operUp')) out.push(`ES ${es.esi} on ${l.lag} is still up`);
      if (es?.flags.includes('df')) out.push(`ES ${es.esi} on ${l.lag}: still designated forwarder`);
    } else {
      const by = new Map((seen as PortState[]).map((p) => [p.name, p]));
      for (const p of l.ports) if (by.get(p)?.admin !== 'down') out.push(`${p} (member of ${l.lag}) is admin ${by.get(p)?.admin ?? 'missing'}, not down`);
      if (by.get(l.lag)?.oper !== 'down') out.push(`${l.lag} is oper ${by.get(l.lag)?.oper ?? 'missing'}, not down`);
    }
  }
  return out;
}

/** What is not yet restored after leaving (empty: the device carries its ES again). */
export function restoreProblems(platform: string, lags: readonly EsiLag[], seen: FrrEs[] | PortState[] | undefined): string[] {
  if (!seen) return ['the device reports no EVPN ES state: the ES restore cannot be verified'];
  const out: string[] = [];
  for (const l of lags) {
    if (platform === 'frr') {
      const es = (seen as FrrEs[]).find((e) => e.accessPort === l.lag);
      if (!es) out.push(`no ES on ${l.lag}`);
      else if (!es.flags.includes('operUp')) out.push(`ES ${es.esi} on ${l.lag} is not up yet`);
    } else {
      const by = new Map((seen as PortState[]).map((p) => [p.name, p]));
      for (const p of l.ports) if (by.get(p)?.admin !== 'up') out.push(`${p} (member of ${l.lag}) is admin ${by.get(p)?.admin ?? 'missing'}, not up`);
      if (by.get(l.lag)?.oper !== 'up') out.push(`${l.lag} is oper ${by.get(l.lag)?.oper ?? 'missing'}, not up`);
    }
  }
  return out;
}

/** FRR ES peer: it must report the drained ES as its own, up and designated forwarder. */
export function peerProblems(peer: string, esis: readonly string[], seen: FrrEs[] | undefined): string[] {
  if (!seen) return [`${peer} reports no EVPN ES state`];
  return esis.flatMap((esi) => {
    const es = seen.find((e) => e.esi === esi);
    if (!es) return [`${peer} has no ES ${esi}`];
    return es.flags.includes('operUp') && es.flags.includes('df') ? [] : [`${peer}: ES ${esi} is ${es.flags.join(',') || 'no flags'}, not up and designated forwarder`];
  });
}

/** The ES state a platform reports, over an open session. */
export async function readEsiState(client: NetconfClient, platform: string): Promise<FrrEs[] | PortState[] | undefined> {
  if (platform === 'frr') return parseFrrEs(await client.get(`<frr-state xmlns="${NS_FRR}"/>`));
  if (platform === 'junos') return parseJunosPorts((await client.rpc('<get-interface-information><terse/></get-interface-information>')).xml);
  return undefined;
}
