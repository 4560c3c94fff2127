// Verification of a pushed device against its plan (issue 7). `checkDevice` is pure: operational
// state (parsed from NETCONF replies) + the DevicePlan -> failures and notes. The state comes
// from the platform's verify readers (src/platforms/<name>/verify.ts), over NETCONF only.
import type { DevicePlan } from '../domain/types';
import type { NetconfClient } from '../netconf/client';
import { platformModule, type OperState } from '../platforms';

export type { BfdSessionState, BgpSessionState, OperState } from '../platforms';
export { parseFrrState } from '../platforms/frr';
export { parseJunosBfd, parseJunosBgpSummary, parseJunosRoutes } from '../platforms/junos';

export type VerifyPhase = 'underlay' | 'overlay' | 'all';

export interface VerifyInput {
  plan: DevicePlan;
  state: OperState;
  /** device name -> loopback address (every device of the fabric) */
  loopbacks: Record<string, string>;
  /** devices whose own push failed: their sessions and loopbacks are notes, not failures */
  failedPeers?: Iterable<string>;
  phase?: VerifyPhase;
}

export interface VerifyResult {
  ok: boolean;
  failures: string[];
  notes: string[];
  checked: number;
  /** peer devices named by the failures (a session to them down, their loopback missing) */
  blame: string[];
  /** sessions of the plan found Established */
  up: number;
}

function established(state: OperState, peer: string, afi: string): string | undefined {
  const m = state.bgp.filter((s) => s.peer === peer && (s.afi === undefined || s.afi === afi));
  if (m.some((s) => s.state === 'Established')) return undefined;
  return m.length ? m.map((s) => s.state).join('/') : 'missing';
}

/** What is wrong with a device's state compared with its plan (pure). */
export function checkDevice(input: VerifyInput): VerifyResult {
  const { plan, state } = input;
  const phase = input.phase ?? 'all';
  const failed = new Set(input.failedPeers ?? []);
  const failures: string[] = [];
  const notes = new Set<string>();
  const blame = new Set<string>();
  let checked = 0;
  let up = 0;
  if (phase !== 'overlay') {
    for (const n of plan.underlay.neighbors) {
      if (failed.has(n.peerDevice)) {
        notes.add(`peer ${n.peerDevice} not configured (its push failed): BGP ${n.address} not checked`);
        continue;
      }
      checked++;
      const bad = established(state, n.address, 'ipv4');
      if (bad) { failures.push(`BGP ${n.address} (${n.peerDevice} on ${n.interface}) is ${bad}, not Established`); blame.add(n.peerDevice); } else up++;
      if (n.bfd) {
        if (!state.bfd) notes.add('BFD state not reported by this device: BFD not checked');
        else {
          checked++;
          const b = state.bfd.find((x) => x.peer === n.address);
          if (!b || b.state.toLowerCase() !== 'up') { failures.push(`BFD ${n.address} (${n.peerDevice}) is ${b ? b.state : 'missing'}, not up`); blame.add(n.peerDevice); }
        }
      }
    }
    const routes = new Set(state.routes);
    for (const [dev, lb] of Object.entries(input.loopbacks).sort(([a], [b]) => a.localeCompare(b))) {
      if (dev === plan.name) continue;
      if (failed.has(dev)) {
        notes.add(`peer ${dev} not configured (its push failed): loopback ${lb} not checked`);
        continue;
      }
      checked++;
      if (!routes.has(`${lb}/32`)) { failures.push(`no route to ${dev}'s loopback ${lb}/32`); blame.add(dev); }
    }
  }
  if (phase !== 'underlay' && plan.overlay) {
    for (const n of plan.overlay.neighbors) {
      if (failed.has(n.device)) {
        notes.add(`peer ${n.device} not configured (its push failed): EVPN ${n.address} not checked`);
        continue;
      }
      checked++;
      const bad = established(state, n.address, 'evpn');
      if (bad) { failures.push(`EVPN ${n.address} (${n.device}) is ${bad}, not Established`); blame.add(n.device); } else up++;
    }
  }
  return { ok: failures.length === 0, failures, notes: [...notes], checked, blame: [...blame].sort(), up };
}

// ----------------------------------------------------------------------------- readers (NETCONF)

/** Operational state of a device over NETCONF, by its platform's readers. */
export async function readOperState(client: NetconfClient, platform: string, opts: { timeoutMs?: number } = {}): Promise<OperState> {
  const ro = opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : undefined;
  return platformModule(platform).readOperState(client, ro);
}

export function describeVerify(r: VerifyResult): string {
  const parts = [r.ok ? `verified (${r.checked} checks)` : `${r.failures.length} of ${r.checked} checks failed: ${r.failures.join('; ')}`];
  if (r.notes.length) parts.push(`notes: ${r.notes.join('; ')}`);
  return parts.join('; ');
}

