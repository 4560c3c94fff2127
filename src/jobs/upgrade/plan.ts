// The rolling-upgrade batch planner (issue 15). Pure: fabric facts in, ordered batches out.
// Rules, each checked by the property tests (test/unit/upgrade-plan.test.ts):
//   - tiers in order leaf, gateway, spine, superspine: every leaf before any spine; a batch
//     holds one tier only;
//   - at most maxParallel (default 1) devices per batch;
//   - never more than half of the fabric's spines (superspines, gateway tier), of its route
//     reflectors, or of the devices of any gateway role in one batch (half of the whole fabric's
//     count, upgraded or not). A role with one device cannot be upgraded hitlessly: its batch
//     holds it alone and says so;
//   - the leaves of a multihomed server (NICs or VPG ports on two or more devices) never share a
//     batch; a single-homed server is named in the reason of its leaf's batch (it is cut off
//     while that leaf reboots);
//   - a device already on the image's version (normalizeVersion), of another platform, in RMA,
//     without a management address or a physical role is skipped with the reason.
import type { PhysicalRole } from '../../domain/types';
import { sameVersion } from './version';

export interface PlanDevice {
  name: string;
  physicalRole: PhysicalRole | null;
  roles: readonly string[];
  /** the profile's platform (frr, junos), null when the profile is unknown */
  platform: string | null;
  osVersion: string | null;
  managedState: string;
  managementIp: string | null;
}

export interface PlanServer { name: string; devices: readonly string[] }

export interface PlanInput {
  devices: readonly PlanDevice[];
  servers: readonly PlanServer[];
  image: { name: string; platform: string; version: string };
  /** only these devices (default every device); unknown names throw PlanError */
  only?: readonly string[];
  maxParallel?: number;
}

export interface UpgradeBatch { devices: string[]; reason: string }
export interface UpgradePlan { batches: UpgradeBatch[]; skipped: { device: string; reason: string }[] }

export class PlanError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'PlanError';
  }
}

export const TIER_ORDER: readonly PhysicalRole[] = ['leaf', 'gateway', 'spine', 'superspine'];
/** Tiers whose devices stand in for one another: at most half of them at once. */
const REDUNDANT_TIERS = new Set<PhysicalRole>(['gateway', 'spine', 'superspine']);
export const MAX_PARALLEL = 1000;

/** Route reflectors and every gateway role (CRB-Gateway, DC-Gateway, ERB-UCAST-Gateway, ...). */
export function isCappedRole(role: string): boolean {
  return role === 'Route-Reflector' || /-Gateway$/.test(role);
}

/** How many of `n` redundant devices may be down at once: half, but at least one. */
export const halfOf = (n: number) => Math.max(1, Math.floor(n / 2));

const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function planUpgrade(input: PlanInput): UpgradePlan {
  const maxParallel = input.maxParallel ?? 1;
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > MAX_PARALLEL) {
    throw new PlanError(`maxParallel: ${String(maxParallel)} is not a whole number in 1..${MAX_PARALLEL}`, 'maxParallel');
  }
  const byDevice = new Map(input.devices.map((d) => [d.name, d]));
  if (input.only) {
    const seen = new Set<string>();
    input.only.forEach((n, i) => {
      if (!byDevice.has(n)) throw new PlanError(`devices[${i}]: "${n}" is not a device of this fabric`, `devices[${i}]`);
      if (seen.has(n)) throw new PlanError(`devices[${i}]: "${n}" is listed twice`, `devices[${i}]`);
      seen.add(n);
    });
  }
  const wanted = input.only ? input.only.map((n) => byDevice.get(n)!) : [...input.devices];

  // Counts over the whole fabric: half of all spines, not half of those being upgraded.
  const tierCount = new Map<string, number>();
  const roleCount = new Map<string, number>();
  for (const d of input.devices) {
    if (d.physicalRole) tierCount.set(d.physicalRole, (tierCount.get(d.physicalRole) ?? 0) + 1);
    for (const r of new Set(d.roles)) if (isCappedRole(r)) roleCount.set(r, (roleCount.get(r) ?? 0) + 1);
  }

  // Multihoming: a device's partners are the other devices of its multihomed servers.
  const partners = new Map<string, Set<string>>();
  const singleHomed = new Map<string, string[]>();
  for (const s of input.servers) {
    const devs = [...new Set(s.devices)];
    if (devs.length === 1) singleHomed.set(devs[0], [...(singleHomed.get(devs[0]) ?? []), s.name]);
    if (devs.length < 2) continue;
    for (const a of devs) {
      let set = partners.get(a);
      if (!set) partners.set(a, set = new Set());
      for (const b of devs) if (b !== a) set.add(b);
    }
  }

  const skipped: UpgradePlan['skipped'] = [];
  const pending = new Map<PhysicalRole, PlanDevice[]>();
  for (const d of wanted) {
    const why = skipReason(d, input.image);
    if (why) { skipped.push({ device: d.name, reason: why }); continue; }
    const tier = d.physicalRole!;
    pending.set(tier, [...(pending.get(tier) ?? []), d]);
  }

  const batches: UpgradeBatch[] = [];
  for (const tier of TIER_ORDER) {
    let left = (pending.get(tier) ?? []).sort((a, b) => byName(a.name, b.name));
    while (left.length) {
      const batch: PlanDevice[] = [];
      const notes = new Set<string>();
      const roleIn = (r: string) => batch.filter((b) => b.roles.includes(r)).length;
      const rest: PlanDevice[] = [];
      for (const d of left) {
        let why: string | undefined;
        if (batch.length >= maxParallel) why = `maxParallel ${maxParallel}`;
        else if (REDUNDANT_TIERS.has(tier) && batch.length >= halfOf(tierCount.get(tier) ?? 1)) why = `at most half of the ${tierCount.get(tier)} ${tier}s at once`;
        else {
          const role = [...new Set(d.roles)].find((r) => isCappedRole(r) && roleIn(r) >= halfOf(roleCount.get(r) ?? 1));
          if (role) why = `at most half of the ${roleCount.get(role)} ${role}s at once`;
          else {
            const mate = batch.find((b) => partners.get(d.name)?.has(b.name));
            if (mate) why = `shares a multihomed server with ${mate.name}`;
          }
        }
        if (why) { rest.push(d); if (batch.length < maxParallel) notes.add(`${d.name} waits: ${why}`); continue; }
        batch.push(d);
      }
      left = rest;
      const names = batch.map((b) => b.name);
      const parts = [`${tier} tier`];
      if (REDUNDANT_TIERS.has(tier) && (tierCount.get(tier) ?? 0) < 2) parts.push(`not hitless: the only ${tier}`);
      for (const b of batch) {
        for (const r of new Set(b.roles)) if (isCappedRole(r) && (roleCount.get(r) ?? 0) < 2) parts.push(`not hitless: ${b.name} is the only ${r}`);
        const solo = singleHomed.get(b.name);
        if (solo) parts.push(`single-homed ${solo.sort(byName).join(', ')} cut off while ${b.name} reboots`);
      }
      parts.push(...notes);
      batches.push({ devices: names, reason: parts.join('; ') });
    }
  }
  return { batches, skipped: skipped.sort((a, b) => byName(a.device, b.device)) };
}

function skipReason(d: PlanDevice, image: PlanInput['image']): string | undefined {
  if (d.managedState === 'rma') return 'in RMA';
  if (!d.physicalRole) return 'no physical role';
  if (!d.managementIp) return 'no management address (not onboarded)';
  if (d.platform !== image.platform) return `platform ${d.platform ?? 'unknown'}; image ${image.name} is for ${image.platform}`;
  if (sameVersion(d.osVersion, image.version)) return `already on ${image.version}`;
  return undefined;
}
