// The rule check (src/platforms/rules.ts) over every golden case: the shipped templates must
// render configs that break no rule. And each rule, fed a deliberately broken rendered config,
// must report it (so none of them can pass vacuously).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { checkRenderedFabric, renderDevice, RULES, type RenderedPlan } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { REPO } from './golden';

const CASES: [string, string][] = [
  ['dc1-frr', 'examples/dc1-frr.yaml'],
  ['dc1-junos', 'examples/dc1-junos.yaml'],
  ['lean-frr', 'test/golden/fabrics/lean-frr.yaml'],
  ['lean-junos', 'test/golden/fabrics/lean-junos.yaml'],
  ['mixed-frr', 'test/golden/fabrics/mixed-frr.yaml'],
  ['services-frr', 'test/golden/fabrics/services-frr.yaml'],
  ['services-junos', 'test/golden/fabrics/services-junos.yaml'],
];

/** services-junos with a second Ethernet segment (vpg9 on leaf3/leaf4 xe-0/0/11): ae1 there. */
const SJ2 = 'services-junos + vpg9';
const textOf = (file: string): string => file !== SJ2 ? readFileSync(path.join(REPO, file), 'utf8')
  : textOf('test/golden/fabrics/services-junos.yaml').replace(/^(vpgs:\n(?: {2}- .*\n)*)/m,
    '$1  - {name: vpg9, ports: [leaf3:xe-0/0/11, leaf4:xe-0/0/11], bindings: [{network: web, vlan: 110}]}\n');
const rendered = (file: string): RenderedPlan[] =>
  planFabric(textOf(file)).plans.map((plan) => ({ plan, files: renderDevice(plan).files }));

describe('rule check on every golden case', () => {
  test.each(CASES)('%s: zero findings', (_name, file) => {
    expect(checkRenderedFabric(rendered(file))).toEqual([]);
  });
  test('two segments: one fabric prefix, indexes 1 and 2 in bytes 9-10, zero findings', () => {
    const ds = rendered(SJ2);
    const esis = ds.find((d) => d.plan.name === 'leaf3')!.plan.vpgs.filter((v) => v.esi).map((v) => v.esi!);
    expect(esis.map((e) => e.slice(0, 23))).toEqual([esis[0].slice(0, 23), esis[0].slice(0, 23)]);
    expect(esis.map((e) => e.slice(24))).toEqual(['00:01', '00:02']);
    expect(checkRenderedFabric(ds)).toEqual([]);
  });
});

/** A copy of a case with one device's files edited. */
function broken(file: string, device: string, edit: (text: string, name: string) => string): RenderedPlan[] {
  return brokenAll(file, [device], edit);
}
/** The same edit on several devices' files. */
function brokenAll(file: string, devices: string[], edit: (text: string, name: string) => string): RenderedPlan[] {
  return rendered(file).map((d) => !devices.includes(d.plan.name) ? d
    : { plan: d.plan, files: Object.fromEntries(Object.entries(d.files).map(([n, t]) => [n, edit(t, n)])) });
}
function swap(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`test edit: ${String(from)} not found`); // the edit must really break something
  return out;
}
const rulesOf = (ds: RenderedPlan[]): string[] => [...new Set(checkRenderedFabric(ds).map((f) => f.rule))].sort();
const SJ = 'test/golden/fabrics/services-junos.yaml';
const SF = 'test/golden/fabrics/services-frr.yaml';

describe('each rule trips on a broken config', () => {
  const cases: [string, () => RenderedPlan[]][] = [
    ['esi-on-aggregate', () => broken(SJ, 'leaf3', (t) => swap(t, /<name>xe-0\/0\/10<\/name>/, '<name>xe-0/0/10</name><esi><identifier>00:11:22:33:44:55:66:77:88:99</identifier></esi>'))],
    // the fabric's prefix kept, another segment's index: only the legs disagree
    ['esi-same-on-legs', () => broken(SJ, 'leaf4', (t) => swap(t, /(<esi>\s*<identifier>(?:[0-9a-f]{2}:){8})[0-9a-f]{2}:[0-9a-f]{2}/, '$1ff:ff'))],
    // vpg9 on both legs with a hashed ESI (every byte varies): the legs agree, the prefix does not
    ['esi-fabric-prefix', () => brokenAll(SJ2, ['leaf3', 'leaf4'], (t) => swap(t, /(<name>ae1<\/name>\s*<esi>\s*<identifier>)[^<]+/, '$100:3c:9a:51:07:e2:44:b8:19:d4'))],
    // vpg9 on both legs with vpg3's ESI: two segments under one ESI
    ['esi-fabric-prefix', () => brokenAll(SJ2, ['leaf3', 'leaf4'], (t) => swap(t, /(<name>ae1<\/name>\s*<esi>\s*<identifier>(?:[0-9a-f]{2}:){8})[0-9a-f]{2}:[0-9a-f]{2}/, '$100:01'))],
    ['vni-in-evpn', () => broken(SJ, 'leaf1', (t) => swap(t, '<extended-vni-list>all</extended-vni-list>', '<extended-vni-list>99</extended-vni-list>'))],
    ['rd-unique', () => broken(SJ, 'leaf2', (t) => swap(t, /<rd-type>10\.255\.0\.4:1<\/rd-type>/, '<rd-type>10.255.0.3:1</rd-type>'))],
    ['vrf-irb-exists', () => broken(SJ, 'leaf3', (t) => swap(t, '<name>irb.3445</name>', '<name>irb.9</name>'))],
    ['bfd-floor', () => broken(SJ, 'leaf1', (t) => swap(t, '<minimum-interval>1000</minimum-interval>', '<minimum-interval>300</minimum-interval>'))],
    ['no-gr-with-bfd', () => broken(SJ, 'leaf1', (t) => swap(t, '<multiplier>3</multiplier>', '<multiplier>3</multiplier><graceful-restart/>'))],
    ['overlay-multipath', () => broken(SJ, 'leaf1', (t) => swap(t, /(<name>overlay<\/name>[\s\S]*?)<multipath\/>/, '$1'))],
  ];
  test.each(cases)('%s (Junos)', (rule, ds) => { expect(rulesOf(ds())).toEqual([rule]); });

  const frr: [string, () => RenderedPlan[]][] = [
    ['esi-on-aggregate', () => broken(SF, 'leaf3', (t, n) => n.endsWith('.frr.conf') ? swap(t, ' evpn mh uplink\nexit', ' evpn mh uplink\n evpn mh es-id 7\n evpn mh es-sys-mac 02:00:00:00:00:07\nexit') : t)],
    ['esi-same-on-legs', () => broken(SF, 'leaf4', (t, n) => n.endsWith('.frr.conf') ? swap(t, /evpn mh es-id \d+/, 'evpn mh es-id 1') : t)],
    ['vni-in-evpn', () => broken(SF, 'leaf3', (t, n) => n.endsWith('.frr.conf') ? swap(swap(t, /^ +advertise-all-vni\n/m, ''), /^  vni 10300\n(?:   .*\n)*  exit-vni\n/m, '') : t)],
    ['vrf-irb-exists', () => broken(SF, 'leaf3', (t, n) => n.endsWith('.interfaces') ? swap(t, /(iface br10300\n(?:[ \t]+.*\n)*?)[ \t]+vrf erb1\n/, '$1') : t)],
    // issue 14 FRR items 8-11, 13
    ['fabric-mtu', () => broken(SF, 'spine1', (t, n) => n.endsWith('.interfaces') ? swap(t, /(iface swp1\n)    mtu 9216\n/, '$1') : t)],
    ['arp-nd-suppress', () => broken(SF, 'leaf1', (t, n) => n.endsWith('.interfaces') ? swap(t, /(iface vxlan10100\n(?:[ \t]+.*\n)*?)[ \t]+bridge-arp-nd-suppress on\n/, '$1') : t)],
    ['es-lacp-actor', () => broken(SF, 'leaf4', (t, n) => n.endsWith('.interfaces') ? swap(t, /^\s+es-sys-mac \S+\n/m, '') : t)],
    ['es-uplink-tracking', () => broken(SF, 'leaf3', (t, n) => n.endsWith('.frr.conf') ? swap(t, ' evpn mh uplink\n', '') : t)],
    ['leaf-no-transit', () => broken(SF, 'leaf2', (t, n) => n.endsWith('.frr.conf') ? swap(t, /^ {2}neighbor \S+ filter-list UNDERLAY-OUT out\n/m, '') : t)],
  ];
  test.each(frr)('%s (FRR)', (rule, ds) => { expect(rulesOf(ds())).toEqual([rule]); });

  test('bfd-floor reads the profile fact, not a constant', () => {
    const ds = rendered(SF);
    expect(checkRenderedFabric(ds, (p: DevicePlan) => ({ bfdMinIntervalMs: p.name === 'leaf3' ? 1000 : 0 }) as never)
      .map((f) => `${f.rule} ${f.device}`)).toEqual(['bfd-floor leaf3']);
  });

  test('every rule has an id, a reason and a source, and a breaking case', () => {
    for (const r of RULES) expect(r.id && r.reason && r.source).toBeTruthy();
    expect(new Set([...cases, ...frr].map((c) => c[0]))).toEqual(new Set(RULES.map((r) => r.id)));
  });
});
