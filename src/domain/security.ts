// Security groups and port profiles of a fabric file: the cross-object rules the schema cannot
// state (unique names, a rule's fields that go together, names that must exist, what a
// device's platform can enforce). Pure; every problem is one line starting with where it is.
import { FabricError } from './errors';
import { parseCidr } from './ipv4';
import { factsOf, platformDataOf, type PlatformDataSet } from './platforms';
import { profileNamed, type ProfileSet } from './profiles';
import type { FabricFile, SecurityGroupRuleSpec } from './types';

const lab = (kind: string, i: number, name: string) => `${kind}[${i}] (${name})`;

/** Networks whose bindings carry `group`, with a VPG that binds each (for messages). */
export function groupNetworks(file: FabricFile, group: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of file.vpgs ?? []) {
    for (const b of v.bindings) if (b.securityGroups?.includes(group) && !out.has(b.network)) out.set(b.network, v.name);
  }
  return out;
}

function ruleProblems(r: SecurityGroupRuleSpec, groups: Map<string, number>): { field: string; what: string }[] {
  const out: { field: string; what: string }[] = [];
  if (r.ports !== undefined) {
    if (r.protocol !== 'tcp' && r.protocol !== 'udp') out.push({ field: 'ports', what: `ports need protocol tcp or udp (not ${r.protocol})` });
    else if (r.ports.to !== undefined && r.ports.to < r.ports.from) out.push({ field: 'ports.to', what: `${r.ports.to} is below ports.from ${r.ports.from}` });
  }
  if (r.remotePrefix !== undefined && r.remoteGroup !== undefined) out.push({ field: 'remoteGroup', what: 'give remotePrefix or remoteGroup, not both' });
  if (r.remotePrefix !== undefined) {
    const c = parseCidr(r.remotePrefix);
    if (!c.ok) out.push({ field: 'remotePrefix', what: `"${r.remotePrefix}" ${c.reason}` });
  }
  if (r.remoteGroup !== undefined && !groups.has(r.remoteGroup)) out.push({ field: 'remoteGroup', what: `unknown security group "${r.remoteGroup}"` });
  return out;
}

export function collectSecurityErrors(file: FabricFile, profiles: ProfileSet, platforms: PlatformDataSet): FabricError[] {
  const errs: FabricError[] = [];
  const add = (path: string, where: string, what: string) => errs.push(new FabricError(path, `${where}: ${what}`));
  const sgs = file.securityGroups ?? [];
  const pps = file.portProfiles ?? [];
  const vns = new Map((file.virtualNetworks ?? []).map((v) => [v.name, v]));
  const devs = new Map(file.devices.map((d) => [d.name, d]));

  const groups = new Map<string, number>();
  sgs.forEach((g, i) => {
    if (groups.has(g.name)) add(`securityGroups[${i}].name`, `${lab('securityGroups', i, g.name)}.name`, `duplicate security group name "${g.name}" (also securityGroups[${groups.get(g.name)}])`);
    else groups.set(g.name, i);
  });
  sgs.forEach((g, i) => {
    g.rules.forEach((r, j) => {
      const p = `securityGroups[${i}].rules[${j}]`;
      const w = `${lab('securityGroups', i, g.name)}.rules[${j}]`;
      for (const e of ruleProblems(r, groups)) add(`${p}.${e.field}`, `${w}.${e.field}`, e.what);
      if (r.remoteGroup === undefined || !groups.has(r.remoteGroup)) return;
      // The group's addresses are its networks' subnets: each must have one to be matched.
      for (const [net, vpg] of groupNetworks(file, r.remoteGroup)) {
        if (vns.get(net)?.subnet === undefined) add(`${p}.remoteGroup`, `${w}.remoteGroup`, `group "${r.remoteGroup}" is on network "${net}" (vpg ${vpg}), which has no subnet to match`);
      }
    });
  });

  const profilesByName = new Map<string, number>();
  pps.forEach((pp, i) => {
    const p = `portProfiles[${i}]`;
    const w = lab('portProfiles', i, pp.name);
    if (profilesByName.has(pp.name)) add(`${p}.name`, `${w}.name`, `duplicate port profile name "${pp.name}" (also portProfiles[${profilesByName.get(pp.name)}])`);
    else profilesByName.set(pp.name, i);
    const sc = pp.stormControl;
    if ((sc.bandwidthPercent === undefined) === (sc.rateKbps === undefined)) add(`${p}.stormControl`, `${w}.stormControl`, 'give bandwidthPercent or rateKbps (exactly one)');
    if (sc.traffic && new Set(sc.traffic).size !== sc.traffic.length) add(`${p}.stormControl.traffic`, `${w}.stormControl.traffic`, 'a traffic kind is listed twice');
  });

  (file.vpgs ?? []).forEach((v, i) => {
    const p = `vpgs[${i}]`;
    const w = lab('vpgs', i, v.name);
    v.bindings.forEach((b, j) => {
      const seen = new Set<string>();
      (b.securityGroups ?? []).forEach((g, k) => {
        const gp = `${p}.bindings[${j}].securityGroups[${k}]`;
        const gw = `${w}.bindings[${j}].securityGroups[${k}]`;
        if (!groups.has(g)) add(gp, gw, `unknown security group "${g}"`);
        else if (seen.has(g)) add(gp, gw, `security group "${g}" listed twice`);
        seen.add(g);
      });
    });
    if (v.portProfile === undefined) return;
    if (!profilesByName.has(v.portProfile)) { add(`${p}.portProfile`, `${w}.portProfile`, `unknown port profile "${v.portProfile}"`); return; }
    // Storm control only where the device's platform can enforce it (facts.stormControl).
    for (const dn of new Set(v.ports.map((x) => x.device))) {
      const prof = devs.has(dn) ? profileNamed(profiles, devs.get(dn)!.profile) : undefined;
      if (!prof || !platforms.has(prof.platform) || factsOf(prof, platforms).stormControl) continue;
      add(`${p}.portProfile`, `${w}.portProfile`, `port profile "${v.portProfile}" sets storm control, which ${platformDataOf(prof, platforms).title} device ${dn} does not support (platform data: stormControl false)`);
    }
  });
  return errs;
}
