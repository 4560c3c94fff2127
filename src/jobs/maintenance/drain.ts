// Maintenance drain (issue 15): the device's intended config plus BGP graceful shutdown (RFC 8326).
// FRR: `bgp graceful-shutdown` in every `router bgp` instance: the device sends its routes with
// the GRACEFUL_SHUTDOWN community (65535:0) and local-pref 0, plus an AS-path prepend towards its
// eBGP peers (which honour the community only with a policy), so its peers prefer the paths
// through the other spines/leaves while every session stays up. Junos: `protocols bgp
// graceful-shutdown sender` in each of the service's BGP groups. Pure text functions; the push is
// the ordinary NETCONF transaction (commit confirmed, verify, rollback).
import type { ManagedState } from '../../store/types';
import { drainEsiFiles } from './esi-drain';

export const GSHUT_COMMUNITY = '65535:0';
const FRR_LINE = ' bgp graceful-shutdown';
const JUNOS_ELEMENT = '<graceful-shutdown><sender/></graceful-shutdown>';

/** States in which the device's config carries the drain (autoconfigure keeps it there). */
export const DRAINED_STATES: readonly ManagedState[] = ['maintenance', 'upgrading'];
export const isDrained = (state: string | null | undefined) => DRAINED_STATES.includes(state as ManagedState);

/**
 * The rendered files with the drain added (idempotent: a drained file is returned unchanged):
 * BGP graceful shutdown, and the ESI-LAG members out of service (esi-drain.ts).
 */
export function drainFiles(platform: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    if (platform === 'frr' && name.endsWith('.frr.conf')) out[name] = drainFrr(text);
    else if (platform === 'junos' && name.endsWith('.xml')) out[name] = drainJunos(text);
    else out[name] = text;
  }
  return drainEsiFiles(platform, out);
}

/**
 * FRR: graceful shutdown in every BGP instance, and for peers that ignore the community (eBGP
 * receivers need a policy to honour it) the device's AS prepended three times on what it sends
 * to its eBGP underlay peers, so a longer path makes them prefer the other spines/leaves too.
 */
function drainFrr(text: string): string {
  if (text.split('\n').includes(FRR_LINE)) return text;
  const lines = text.split('\n');
  // eBGP neighbours (numeric remote-as) and the AS this device speaks to each (local-as, else the instance's).
  const ebgp = new Map<string, string>();
  let instanceAs = '';
  for (const l of lines) {
    const rb = /^router bgp (\d+)/.exec(l);
    if (rb) instanceAs = rb[1];
    const ra = /^ neighbor (\S+) remote-as \d+\s*$/.exec(l);
    if (ra && !ebgp.has(ra[1])) ebgp.set(ra[1], instanceAs);
    const la = /^ neighbor (\S+) local-as (\d+)/.exec(l);
    if (la && ebgp.has(la[1])) ebgp.set(la[1], la[2]);
  }
  const out: string[] = [];
  let inV4 = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === 'end' && i >= lines.length - 2) {
      for (const as of new Set(ebgp.values())) out.push(`route-map ${drainMap(as)} permit 10`, ` set as-path prepend ${as} ${as} ${as}`, 'exit', '!');
    }
    out.push(l);
    if (/^router bgp \d+( vrf \S+)?\s*$/.test(l)) out.push(FRR_LINE);
    if (/^ address-family ipv4 unicast\s*$/.test(l)) inV4 = true;
    else if (/^ exit-address-family/.test(l)) inV4 = false;
    const act = inV4 ? /^ {2}neighbor (\S+) activate\s*$/.exec(l) : null;
    if (act && ebgp.has(act[1])) out.push(`  neighbor ${act[1]} route-map ${drainMap(ebgp.get(act[1])!)} out`);
  }
  if (!lines.some((l, i) => l === 'end' && i >= lines.length - 2)) {
    for (const as of new Set(ebgp.values())) out.push(`route-map ${drainMap(as)} permit 10`, ` set as-path prepend ${as} ${as} ${as}`, 'exit', '!');
  }
  return out.join('\n');
}

const drainMap = (as: string) => `FABRIC-DRAIN-${as}`;

function drainJunos(text: string): string {
  if (text.includes(JUNOS_ELEMENT)) return text;
  return text.replace(/<bgp>/g, `<bgp>${JUNOS_ELEMENT}`);
}

/** True when the running/intended text carries the drain. */
export function hasDrain(platform: string, files: Record<string, string>): boolean {
  return Object.entries(files).some(([n, t]) => (platform === 'frr' ? n.endsWith('.frr.conf') && t.split('\n').includes(FRR_LINE) : t.includes('graceful-shutdown')));
}
