// Maintenance drain (issue 15): the device's intended config plus BGP graceful shutdown (RFC 8326).
// FRR: `bgp graceful-shutdown` in every `router bgp` instance: the device sends its routes with
// the GRACEFUL_SHUTDOWN community (65535:0) and local-pref 0, so its peers prefer the paths
// through the other spines/leaves while every session stays up. Junos: `protocols bgp
// graceful-shutdown sender` in each of the service's BGP groups. Pure text functions; the push is
// the ordinary NETCONF transaction (commit confirmed, verify, rollback).
import type { ManagedState } from '../../store/types';

export const GSHUT_COMMUNITY = '65535:0';
const FRR_LINE = ' bgp graceful-shutdown';
const JUNOS_ELEMENT = '<graceful-shutdown><sender/></graceful-shutdown>';

/** States in which the device's config carries the drain (autoconfigure keeps it there). */
export const DRAINED_STATES: readonly ManagedState[] = ['maintenance', 'upgrading'];
export const isDrained = (state: string | null | undefined) => DRAINED_STATES.includes(state as ManagedState);

/** The rendered files with the drain added (idempotent: a drained file is returned unchanged). */
export function drainFiles(platform: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    if (platform === 'frr' && name.endsWith('.frr.conf')) out[name] = drainFrr(text);
    else if (platform === 'junos' && name.endsWith('.xml')) out[name] = drainJunos(text);
    else out[name] = text;
  }
  return out;
}

function drainFrr(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    if (/^router bgp \d+( vrf \S+)?\s*$/.test(lines[i]) && lines[i + 1] !== FRR_LINE) out.push(FRR_LINE);
  }
  return out.join('\n');
}

function drainJunos(text: string): string {
  if (text.includes(JUNOS_ELEMENT)) return text;
  return text.replace(/<bgp>/g, `<bgp>${JUNOS_ELEMENT}`);
}

/** True when the running/intended text carries the drain. */
export function hasDrain(platform: string, files: Record<string, string>): boolean {
  return Object.entries(files).some(([n, t]) => (platform === 'frr' ? n.endsWith('.frr.conf') && t.split('\n').includes(FRR_LINE) : t.includes('graceful-shutdown')));
}
