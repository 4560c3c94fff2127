// Security groups and port profiles -> the VPG plans' `filters` and `stormControl`. Pure, over
// a validated file: each binding's groups flattened into one ordered rule list (first match
// wins), a remote group resolved to the subnets of the networks whose bindings carry it (a
// group on no binding matches nothing, so its rules are left out rather than matching all).
import { groupNetworks } from '../domain/security';
import { isUntagged } from '../domain/services';
import type { FabricFile, PlanFilter, PlanFilterRule, PlanStormControl, PlanVpg, SecurityGroupRuleSpec } from '../domain/types';

export const ANY_PREFIX = '0.0.0.0/0';

function prefixesOf(file: FabricFile, r: SecurityGroupRuleSpec): string[] {
  if (r.remotePrefix !== undefined) return [r.remotePrefix];
  if (r.remoteGroup === undefined) return [ANY_PREFIX];
  const subnets = new Map((file.virtualNetworks ?? []).map((v) => [v.name, v.subnet]));
  const out = [...groupNetworks(file, r.remoteGroup).keys()].map((n) => subnets.get(n)).filter((s): s is string => s !== undefined);
  return [...new Set(out)].sort();
}

/** Fills `filters` and `stormControl` of the VPG plans of one device (plans are fresh objects). */
export function compileSecurity(file: FabricFile, vpgs: PlanVpg[]): void {
  const groups = new Map((file.securityGroups ?? []).map((g) => [g.name, g]));
  const profiles = new Map((file.portProfiles ?? []).map((p) => [p.name, p]));
  const specs = new Map((file.vpgs ?? []).map((v) => [v.name, v]));
  for (const pv of vpgs) {
    const spec = specs.get(pv.name);
    if (!spec) continue;
    const filters: PlanFilter[] = [];
    for (const b of spec.bindings) {
      const names = b.securityGroups ?? [];
      if (names.length === 0) continue;
      const rules: PlanFilterRule[] = [];
      for (const g of names) {
        groups.get(g)?.rules.forEach((r, index) => {
          const prefixes = prefixesOf(file, r);
          if (prefixes.length === 0) return;
          const rule: PlanFilterRule = { group: g, index, direction: r.direction, action: r.action, protocol: r.protocol as PlanFilterRule['protocol'], prefixes };
          if (r.ports) rule.ports = { from: r.ports.from, to: r.ports.to ?? r.ports.from };
          rules.push(rule);
        });
      }
      filters.push(isUntagged(b) ? { network: b.network, untagged: true, rules } : { network: b.network, vlan: b.vlan, untagged: false, rules });
    }
    if (filters.length) pv.filters = filters;
    const pp = spec.portProfile === undefined ? undefined : profiles.get(spec.portProfile);
    if (pp) {
      const sc = pp.stormControl;
      const t = new Set(sc.traffic ?? ['broadcast', 'unknown-unicast', 'multicast']);
      const out: PlanStormControl = { profile: pp.name, broadcast: t.has('broadcast'), unknownUnicast: t.has('unknown-unicast'), multicast: t.has('multicast') };
      if (sc.bandwidthPercent !== undefined) out.bandwidthPercent = sc.bandwidthPercent;
      if (sc.rateKbps !== undefined) out.rateKbps = sc.rateKbps;
      pv.stormControl = out;
    }
  }
}
