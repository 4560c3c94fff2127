// Security groups and port profiles: every refusal with its exact line (mutated copies of
// test/golden/fabrics/security-*.yaml), what the plan resolves (a remote group's subnets, an
// empty group's rules left out), and the device agent's port-filter parser and nft script.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { FilterError, nftScript, parsePortFilters } from '../../src/lab/agent/filters';
import { parseInterfaces } from '../../src/lab/agent/interfaces';
import { renderDevice } from '../../src/platforms';
import { Doc, problems } from './services-cases';
import { dump, load } from 'js-yaml';

const REPO = path.resolve(__dirname, '../..');
const SEC_FRR = readFileSync(path.join(REPO, 'test/golden/fabrics/security-frr.yaml'), 'utf8');
const SEC_JUNOS = readFileSync(path.join(REPO, 'test/golden/fabrics/security-junos.yaml'), 'utf8');

const REFUSALS: [string, (d: Doc) => void, string, string[]][] = [
  ['unknown group on a binding', (d) => { d.vpgs[0].bindings[0].securityGroups = ['nope']; }, SEC_FRR, [
    'vpgs[0].bindings[0].securityGroups[0] | vpgs[0] (vpg1).bindings[0].securityGroups[0]: unknown security group "nope"',
  ]],
  ['group twice on a binding', (d) => { d.vpgs[0].bindings[0].securityGroups = ['web-in', 'web-in']; }, SEC_FRR, [
    'vpgs[0].bindings[0].securityGroups[1] | vpgs[0] (vpg1).bindings[0].securityGroups[1]: security group "web-in" listed twice',
  ]],
  ['duplicate group', (d) => { d.securityGroups[1].name = 'web-in'; }, SEC_FRR, [
    'securityGroups[1].name | securityGroups[1] (web-in).name: duplicate security group name "web-in" (also securityGroups[0])',
    'vpgs[2].bindings[0].securityGroups[0] | vpgs[2] (vpg3).bindings[0].securityGroups[0]: unknown security group "app-from-web"',
  ]],
  ['ports on icmp', (d) => { d.securityGroups[1].rules[1].ports = { from: 1 }; }, SEC_FRR, [
    'securityGroups[1].rules[1].ports | securityGroups[1] (app-from-web).rules[1].ports: ports need protocol tcp or udp (not icmp)',
  ]],
  ['port range backwards', (d) => { d.securityGroups[0].rules[1].ports = { from: 81, to: 80 }; }, SEC_FRR, [
    'securityGroups[0].rules[1].ports.to | securityGroups[0] (web-in).rules[1].ports.to: 80 is below ports.from 81',
  ]],
  ['both remotes', (d) => { d.securityGroups[1].rules[0].remotePrefix = '10.0.0.0/8'; }, SEC_FRR, [
    'securityGroups[1].rules[0].remoteGroup | securityGroups[1] (app-from-web).rules[0].remoteGroup: give remotePrefix or remoteGroup, not both',
  ]],
  ['host bits in a prefix', (d) => { d.securityGroups[0].rules[0].remotePrefix = '192.0.2.1/24'; }, SEC_FRR, [
    'securityGroups[0].rules[0].remotePrefix | securityGroups[0] (web-in).rules[0].remotePrefix: "192.0.2.1/24" has host bits set (did you mean 192.0.2.0/24?)',
  ]],
  ['unknown remote group', (d) => { d.securityGroups[1].rules[0].remoteGroup = 'ghost'; }, SEC_FRR, [
    'securityGroups[1].rules[0].remoteGroup | securityGroups[1] (app-from-web).rules[0].remoteGroup: unknown security group "ghost"',
  ]],
  ['remote group on a network without a subnet', (d) => { delete d.virtualNetworks[0].subnet; delete d.virtualNetworks[0].gateway; d.logicalRouters[0].networks = ['db']; }, SEC_FRR, [
    'securityGroups[1].rules[0].remoteGroup | securityGroups[1] (app-from-web).rules[0].remoteGroup: group "web-in" is on network "web" (vpg vpg1), which has no subnet to match',
  ]],
  ['bad protocol (schema)', (d) => { d.securityGroups[0].rules[0].protocol = 'sctp'; }, SEC_FRR, [
    'securityGroups[0].rules[0].protocol | securityGroups[0].rules[0].protocol: unknown value "sctp" (known: any, tcp, udp, icmp)',
  ]],
  ['storm control on FRR', (d) => { d.portProfiles = [{ name: 'storm5', stormControl: { bandwidthPercent: 5 } }]; d.vpgs[2].portProfile = 'storm5'; }, SEC_FRR, [
    'vpgs[2].portProfile | vpgs[2] (vpg3).portProfile: port profile "storm5" sets storm control, which FRR device leaf3 does not support (platform data: stormControl false)',
    'vpgs[2].portProfile | vpgs[2] (vpg3).portProfile: port profile "storm5" sets storm control, which FRR device leaf4 does not support (platform data: stormControl false)',
  ]],
  ['unknown port profile', (d) => { d.vpgs[0].portProfile = 'nope'; }, SEC_JUNOS, [
    'vpgs[0].portProfile | vpgs[0] (vpg1).portProfile: unknown port profile "nope"',
  ]],
  ['no limit', (d) => { d.portProfiles[0].stormControl = { traffic: ['broadcast'] }; }, SEC_JUNOS, [
    'portProfiles[0].stormControl | portProfiles[0] (storm5).stormControl: give bandwidthPercent or rateKbps (exactly one)',
  ]],
  ['both limits', (d) => { d.portProfiles[1].stormControl.bandwidthPercent = 3; }, SEC_JUNOS, [
    'portProfiles[1].stormControl | portProfiles[1] (storm-rate).stormControl: give bandwidthPercent or rateKbps (exactly one)',
  ]],
  ['traffic twice', (d) => { d.portProfiles[0].stormControl.traffic = ['multicast', 'multicast']; }, SEC_JUNOS, [
    'portProfiles[0].stormControl.traffic | portProfiles[0] (storm5).stormControl.traffic: a traffic kind is listed twice',
  ]],
];

describe('security groups and port profiles', () => {
  test('the golden cases are valid', () => {
    expect(problems(() => undefined, SEC_FRR)).toEqual([]);
    expect(problems(() => undefined, SEC_JUNOS)).toEqual([]);
  });

  test.each(REFUSALS)('refused: %s', (_name, mutate, text, want) => {
    expect(problems(mutate, text)).toEqual(want);
  });

  test('a remote group is its networks\' subnets; a group on no binding matches nothing (its rule is left out)', () => {
    const leaf3 = planFabric(SEC_FRR).plans.find((p) => p.name === 'leaf3')!;
    expect(leaf3.vpgs[0].filters![0].rules[0]).toEqual({ group: 'app-from-web', index: 0, direction: 'ingress', action: 'allow', protocol: 'tcp', ports: { from: 8080, to: 8080 }, prefixes: ['10.10.0.0/24'] });
    const d = load(SEC_FRR) as Doc;
    d.securityGroups.push({ name: 'lonely', rules: [] });
    d.securityGroups[1].rules[0].remoteGroup = 'lonely';
    const again = planFabric(dump(d)).plans.find((p) => p.name === 'leaf3')!;
    expect(again.vpgs[0].filters![0].rules.map((r) => `${r.group}[${r.index}]`)).toEqual(['app-from-web[1]']);
  });

  test('leaves without secured VPGs render no overlay_security_group output', () => {
    const leaf1 = planFabric(readFileSync(path.join(REPO, 'test/golden/fabrics/services-frr.yaml'), 'utf8')).plans.find((p) => p.name === 'leaf1')!;
    expect(renderDevice(leaf1).files['leaf1.interfaces']).not.toContain('port-filter');
  });
});

describe('device agent: port-filter stanzas', () => {
  const rendered = renderDevice(planFabric(SEC_FRR).plans.find((p) => p.name === 'leaf2')!).files['leaf2.interfaces'];

  test('the rendered stanza parses into the rules, and interfaces.ts skips it', () => {
    const f = parsePortFilters(rendered);
    expect(f.map((x) => x.netdev)).toEqual(['bond1.100']);
    expect(f[0].rules.map((r) => `${r.direction} ${r.action} ${r.protocol} ${r.ports ? `${r.ports.from}-${r.ports.to}` : '-'} ${r.prefixes.join(',')}`)).toEqual([
      'ingress allow tcp 22-22 192.0.2.0/24', 'ingress allow tcp 80-81 0.0.0.0/0', 'ingress deny any - 0.0.0.0/0', 'egress deny udp 53-53 198.51.100.0/24',
    ]);
    // Without the skip, interfaces.ts would refuse `port-filter` as an unknown key of the iface before it.
    expect(parseInterfaces(rendered).map((i) => i.name)).toEqual(expect.arrayContaining(['bond1', 'bond1.100']));
  });

  test('nft script: a chain per netdev and direction, allow = return, atomic replace', () => {
    const s = nftScript(parsePortFilters(rendered));
    expect(s.split('\n').slice(0, 3)).toEqual(['table bridge fabric_sg', 'delete table bridge fabric_sg', 'table bridge fabric_sg {']);
    expect(s).toContain('\t\tiifname "bond1.100" jump p0_egress\n\t\toifname "bond1.100" jump p0_ingress');
    expect(s).toContain('\t\tip saddr { 192.0.2.0/24 } tcp dport 22 counter return\n\t\tether type ip tcp dport 80-81 counter return\n\t\tether type ip counter drop');
    expect(s).toContain('ip daddr { 198.51.100.0/24 } udp dport 53 counter drop');
    expect(nftScript([])).toBe('table bridge fabric_sg\ndelete table bridge fabric_sg\n');
  });

  test.each([
    ['port-filter swp1\n    rule sideways allow any - 0.0.0.0/0\n', 'interfaces line 2: direction "sideways" is not ingress or egress'],
    ['port-filter swp1\n    rule ingress allow icmp 5 0.0.0.0/0\n', 'interfaces line 2: ports need tcp or udp'],
    ['port-filter swp1\n    rule ingress allow tcp 0-5 0.0.0.0/0\n', 'interfaces line 2: ports "0-5" is not a port or range in 1-65535'],
    ['port-filter swp1\n    rule ingress allow tcp 5 10.0.0.300/32\n', 'interfaces line 2: "10.0.0.300/32" is not an IPv4 prefix'],
    ['port-filter swp1\n    mtu 9000\n', 'interfaces line 2: unknown key "mtu" in port-filter swp1 (rule)'],
    ['port-filter swp1\nport-filter swp1\n', 'interfaces line 2: port-filter swp1 given twice (also line 1)'],
    ['port-filter "x";\n', 'interfaces line 1: port-filter needs one interface name (got ""x";")'],
  ])('refused: %j', (text, msg) => {
    expect(() => parsePortFilters(text)).toThrow(new FilterError(msg));
  });
});
