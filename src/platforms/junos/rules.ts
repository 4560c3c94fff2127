// The rule check's view of a rendered Junos config (<device>.xml): the elements the rules of
// src/platforms/rules.ts read, found in the XML text our templates write (one <configuration>
// of groups). Pure.
import type { DevicePlan } from '../../domain/types';
import type { ConfigFacts } from '../types';

const all = (re: RegExp, s: string): RegExpMatchArray[] => [...s.matchAll(re)];
/** `<tag>` blocks up to their first closing tag: none of the blocks read here nest their own tag. */
const blocks = (tag: string, s: string): string[] => all(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'), s).map((m) => m[1]);
const nameOf = (block: string): string => /^\s*<name>([^<]*)<\/name>/.exec(block)?.[1] ?? '';

export function junosConfigFacts(plan: DevicePlan, files: Record<string, string>): ConfigFacts {
  const xml = files[`${plan.name}.xml`] ?? '';
  const interfaces = blocks('interface', xml);
  const esis = interfaces.flatMap((b) => {
    const esi = /<esi>\s*<identifier>([^<]+)<\/identifier>/.exec(b)?.[1];
    const name = nameOf(b);
    return esi === undefined ? [] : [{ interface: name, aggregate: /^ae\d+$/.test(name), esi }];
  });
  const vnisInUse = all(/<vxlan>\s*<vni>(\d+)<\/vni>/g, xml).map((m) => Number(m[1]));
  const list = all(/<extended-vni-list>([^<]+)<\/extended-vni-list>/g, xml).map((m) => m[1]);
  const evpnVnis = list.includes('all') ? 'all' : list.map(Number);
  const routeDistinguishers = all(/<route-distinguisher>\s*<rd-type>([^<]+)<\/rd-type>/g, xml).map((m) => m[1]);
  // irb units defined under `interfaces irb`, and the irb.N each routing-instance names.
  const units = new Set(interfaces.filter((b) => nameOf(b) === 'irb')
    .flatMap((b) => all(/<unit>\s*<name>(\d+)<\/name>/g, b).map((m) => `irb.${m[1]}`)));
  const vrfIrbs = blocks('routing-instances', xml).flatMap((ri) => blocks('instance', ri).flatMap((inst) =>
    all(/<interface>\s*<name>(irb\.\d+)<\/name>/g, inst).map((m) => ({ vrf: nameOf(inst), irb: m[1], exists: units.has(m[1]) }))));
  const bfdIntervalsMs = all(/<minimum-interval>(\d+)<\/minimum-interval>/g, xml).map((m) => Number(m[1]));
  const overlayGroups = blocks('group', xml).filter((g) => /<type>internal<\/type>/.test(g) || /<family>\s*<evpn>/.test(g))
    .map((g) => ({ name: nameOf(g), multipath: /<multipath\b/.test(g) }));
  return {
    esis, vnisInUse, evpnVnis, routeDistinguishers, vrfIrbs, bfdIntervalsMs,
    gracefulRestartWithBfd: /<graceful-restart\b/.test(xml) && /<bfd-liveness-detection>/.test(xml),
    overlayGroups,
  };
}
