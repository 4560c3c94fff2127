// Issue 14, FRR faults and the twin agent applying every interfaces key it accepts. The render
// tests fail on the templates from before (checked by reverting them); the agent tests fail
// when a key is accepted and dropped.
import { planFabric } from '../../src/intent';
import { renderDevices } from '../../src/platforms';
import { EMPTY_NETDEV_STATE, parseInterfaces, planReconcile } from '../../src/lab/agent/interfaces';
import { SERVICES_FRR } from './services-cases';

const plans = planFabric(SERVICES_FRR).plans;
const files = renderDevices(plans);
const l2vnis = new Set(plans.flatMap((p) => p.virtualNetworks?.map((v) => `vxlan${v.vni}`) ?? []));
const ifaceFiles = Object.entries(files).filter(([f]) => f.endsWith('.interfaces'));
/** Each `iface` stanza of the rendered interfaces files as [device file, name, body]. */
const stanzas = ifaceFiles.flatMap(([f, t]) => [...t.matchAll(/^iface (\S+)\n((?: {4}.*\n)*)/gm)].map((m) => [f, m[1], m[2]] as const));

describe('FRR rendering', () => {
  test('ARP/ND suppression is on for every L2VNI (item 11)', () => {
    const vx = stanzas.filter(([, n]) => l2vnis.has(n));
    expect(vx.length).toBeGreaterThan(0);
    for (const [f, n, body] of vx) expect([f, n, body.includes('bridge-arp-nd-suppress on')]).toEqual([f, n, true]);
  });
});

describe('twin agent applies what it accepts', () => {
  const TEXT = `auto vxlan100
iface vxlan100
    vxlan-id 100
    bridge-learning off
    bridge-arp-nd-suppress on

auto br100
iface br100
    bridge-ports vxlan100 swp3
`;
  const cmds = planReconcile(parseInterfaces(TEXT), EMPTY_NETDEV_STATE, new Set()).commands.map((c) => c.join(' '));

  test('bridge-arp-nd-suppress sets neigh_suppress on the bridge port, after it is enslaved', () => {
    expect(cmds).toContain('bridge link set dev vxlan100 neigh_suppress on');
    expect(cmds.indexOf('bridge link set dev vxlan100 neigh_suppress on')).toBeGreaterThan(cmds.indexOf('ip link set vxlan100 master br100'));
    expect(() => parseInterfaces('auto vx\niface vx\n    vxlan-id 5\n    bridge-arp-nd-suppress maybe\n')).toThrow(/bridge-arp-nd-suppress must be on or off/);
  });
});
