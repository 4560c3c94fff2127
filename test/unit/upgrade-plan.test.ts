// The rolling-upgrade planner (src/jobs/upgrade/plan.ts): hand cases, then properties over
// 3,000 random fabrics from a seeded generator (a failure prints its seed to replay it).
import * as assert from 'node:assert/strict';
import { halfOf, isCappedRole, planUpgrade, PlanError, TIER_ORDER, type PlanDevice, type PlanInput, type PlanServer } from '../../src/jobs/upgrade/plan';
import { sameVersion } from '../../src/jobs/upgrade/version';
import type { PhysicalRole } from '../../src/domain/types';

const IMAGE = { name: 'frr-9.1', platform: 'frr', version: '9.1.0' };
const dev = (name: string, physicalRole: PhysicalRole, o: Partial<PlanDevice> = {}): PlanDevice => ({
  name, physicalRole, roles: [], platform: 'frr', osVersion: '8.4.4', managedState: 'active', managementIp: '10.0.0.1', ...o,
});

describe('planUpgrade: hand cases', () => {
  const small = {
    devices: [dev('spine1', 'spine', { roles: ['Route-Reflector'] }), dev('spine2', 'spine', { roles: ['Route-Reflector'] }), dev('leaf1', 'leaf'), dev('leaf2', 'leaf'), dev('leaf3', 'leaf')],
    servers: [{ name: 'bms1', devices: ['leaf1'] }, { name: 'bms2', devices: ['leaf2', 'leaf3'] }],
    image: IMAGE,
  };
  test('2 spines, 3 leaves, maxParallel 1: leaves first, one at a time, the single-homed server named', () => {
    const p = planUpgrade(small);
    expect(p.batches.map((b) => b.devices)).toEqual([['leaf1'], ['leaf2'], ['leaf3'], ['spine1'], ['spine2']]);
    expect(p.batches[0].reason).toMatch(/single-homed bms1 cut off while leaf1 reboots/);
    expect(p.skipped).toEqual([]);
  });
  test('maxParallel 3: the dual-homed leaves are split, never more than one of two spines', () => {
    const p = planUpgrade({ ...small, maxParallel: 3 });
    expect(p.batches.map((b) => b.devices)).toEqual([['leaf1', 'leaf2'], ['leaf3'], ['spine1'], ['spine2']]);
    expect(p.batches[0].reason).toMatch(/leaf3 waits: shares a multihomed server with leaf2/);
    expect(p.batches[2].reason).toMatch(/at most half of the 2 spines/);
  });
  test('already on the version, other platform, RMA, not onboarded: skipped with the reason', () => {
    const p = planUpgrade({
      ...small,
      devices: [...small.devices.slice(0, 2), dev('leaf1', 'leaf', { osVersion: 'FRRouting 9.1.0' }), dev('leaf2', 'leaf', { platform: 'junos' }),
        dev('leaf3', 'leaf', { managedState: 'rma' }), dev('leaf4', 'leaf', { managementIp: null })],
    });
    expect(p.skipped).toEqual([
      { device: 'leaf1', reason: 'already on 9.1.0' },
      { device: 'leaf2', reason: 'platform junos; image frr-9.1 is for frr' },
      { device: 'leaf3', reason: 'in RMA' },
      { device: 'leaf4', reason: 'no management address (not onboarded)' },
    ]);
    expect(p.batches.map((b) => b.devices)).toEqual([['spine1'], ['spine2']]);
  });
  test('a lone spine is upgraded alone and the plan says it is not hitless', () => {
    const p = planUpgrade({ devices: [dev('spine1', 'spine'), dev('leaf1', 'leaf')], servers: [], image: IMAGE, maxParallel: 4 });
    expect(p.batches.map((b) => b.devices)).toEqual([['leaf1'], ['spine1']]);
    expect(p.batches[1].reason).toMatch(/not hitless: the only spine/);
  });
  test('bad requests throw with the path', () => {
    expect(() => planUpgrade({ ...small, only: ['leaf9'] })).toThrow(new PlanError('devices[0]: "leaf9" is not a device of this fabric', 'devices[0]'));
    expect(() => planUpgrade({ ...small, only: ['leaf1', 'leaf1'] })).toThrow(/listed twice/);
    expect(() => planUpgrade({ ...small, maxParallel: 0 })).toThrow(/maxParallel/);
  });
});

/** mulberry32: a tiny seeded PRNG (no dependency; the seed replays a failure). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFabric(seed: number): PlanInput {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const devices: PlanDevice[] = [];
  const counts: Record<PhysicalRole, number> = { leaf: int(1, 14), spine: int(1, 5), superspine: int(0, 3), gateway: int(0, 3) };
  const rolesFor: Record<PhysicalRole, string[]> = {
    leaf: ['ERB-UCAST-Gateway', 'CRB-Access'], spine: ['Route-Reflector', 'CRB-Gateway', 'DC-Gateway', 'AR-Replicator'],
    superspine: ['Route-Reflector'], gateway: ['DC-Gateway', 'DCI-Gateway', 'Route-Reflector'],
  };
  for (const tier of TIER_ORDER) {
    for (let i = 1; i <= counts[tier]; i++) {
      const roles = rolesFor[tier].filter(() => r() < 0.4);
      devices.push(dev(`${tier}${i}`, tier, {
        roles, osVersion: r() < 0.2 ? pick(['9.1.0', 'v9.1.0', 'FRRouting 9.1.0']) : pick(['8.4.4', '9.1', null]),
        platform: r() < 0.1 ? 'junos' : 'frr', managedState: r() < 0.05 ? 'rma' : 'active', managementIp: r() < 0.05 ? null : '10.0.0.9',
      }));
    }
  }
  const leaves = devices.filter((d) => d.physicalRole === 'leaf').map((d) => d.name);
  const servers: PlanServer[] = Array.from({ length: int(0, 10) }, (_, i) => ({
    name: `bms${i}`, devices: Array.from({ length: int(1, 3) }, () => pick(leaves)),
  }));
  const only = r() < 0.3 ? devices.filter(() => r() < 0.6).map((d) => d.name) : undefined;
  return { devices, servers, image: IMAGE, only, maxParallel: r() < 0.3 ? undefined : int(1, 6) };
}

describe('planUpgrade: properties over random fabrics', () => {
  test('every rule holds for 3,000 seeded fabrics', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const input = randomFabric(seed);
      const plan = planUpgrade(input);
      try {
        checkPlan(input, plan);
        assert.deepStrictEqual(planUpgrade(input), plan); // deterministic
      } catch (e) {
        throw new Error(`seed ${seed}: ${(e as Error).message}`);
      }
    }
  });
});

function checkPlan(input: PlanInput, plan: ReturnType<typeof planUpgrade>): void {
  const byName = new Map(input.devices.map((d) => [d.name, d]));
  const wanted = input.only ?? input.devices.map((d) => d.name);
  const placed = [...plan.batches.flatMap((b) => b.devices), ...plan.skipped.map((s) => s.device)];
  // Each wanted device exactly once, nothing else.
  assert.deepStrictEqual([...placed].sort(), [...wanted].sort());
  for (const s of plan.skipped) {
    const d = byName.get(s.device)!;
    const should = d.managedState === 'rma' || !d.managementIp || d.platform !== IMAGE.platform || sameVersion(d.osVersion, IMAGE.version);
    assert.strictEqual(should, true);
  }
  for (const b of plan.batches) for (const n of b.devices) assert.strictEqual(sameVersion(byName.get(n)!.osVersion, IMAGE.version), false);
  const tierCount = new Map<string, number>();
  const roleCount = new Map<string, number>();
  for (const d of input.devices) {
    tierCount.set(d.physicalRole!, (tierCount.get(d.physicalRole!) ?? 0) + 1);
    for (const r of new Set(d.roles)) roleCount.set(r, (roleCount.get(r) ?? 0) + 1);
  }
  let lastTier = 0;
  for (const b of plan.batches) {
    assert.ok(b.devices.length >= 1, `b.devices.length >= 1`);
    assert.ok(b.devices.length <= (input.maxParallel ?? 1), `batch over maxParallel: ${JSON.stringify(b)}`);
    const tiers = new Set(b.devices.map((n) => byName.get(n)!.physicalRole!));
    assert.strictEqual(tiers.size, 1);
    const ti = TIER_ORDER.indexOf([...tiers][0]);
    assert.ok(ti >= lastTier, `ti >= lastTier`); // leaves before spines, never back
    lastTier = ti;
    const tier = [...tiers][0];
    if (tier !== 'leaf') assert.ok(b.devices.length <= halfOf(tierCount.get(tier)!), `b.devices.length <= halfOf(tierCount.get(tier)!): ${JSON.stringify(b)}`);
    for (const [role, n] of roleCount) {
      if (!isCappedRole(role)) continue;
      const inBatch = b.devices.filter((x) => byName.get(x)!.roles.includes(role)).length;
      assert.ok(inBatch <= halfOf(n), `inBatch <= halfOf(n): ${JSON.stringify(b)}`);
      if (n >= 2) assert.ok(inBatch <= Math.floor(n / 2), `inBatch <= Math.floor(n / 2): ${JSON.stringify(b)}`);
    }
    for (const s of input.servers) {
      const homes = new Set(s.devices);
      if (homes.size < 2) continue;
      assert.ok(b.devices.filter((x) => homes.has(x)).length <= 1, `b.devices.filter((x) => homes.has(x)).length <= 1: ${JSON.stringify(b)}`);
    }
  }
}
