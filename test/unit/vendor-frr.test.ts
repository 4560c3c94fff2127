// Issue 14, FRR faults (items 9, 11) and the twin agent applying every interfaces key it accepts.
// The render tests fail on the templates from before (checked by reverting them); the agent
// tests fail when a key is accepted and dropped.
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

  test('a multihomed bond carries the segment es-sys-mac as LACP actor, the same on both legs (item 9)', () => {
    const esMac = new Map<string, string>(); // bond name + frr.conf es-sys-mac -> device
    let legs = 0;
    for (const [f, conf] of Object.entries(files).filter(([n]) => n.endsWith('.frr.conf'))) {
      for (const m of conf.matchAll(/^interface (\S+)\n evpn mh es-id \S+\n evpn mh es-sys-mac (\S+)/gm)) {
        const dev = f.replace('.frr.conf', '');
        const bond = stanzas.find(([g, n]) => g === `${dev}.interfaces` && n === m[1]);
        expect(bond?.[2]).toContain(`es-sys-mac ${m[2]}`);
        esMac.set(`${m[1]} ${m[2]}`, dev);
        legs++;
      }
    }
    expect(legs).toBeGreaterThanOrEqual(2);
  });

  test('the VPG\'s first leaf is the designated forwarder: es-df-pref 50000 there, 49900 on the next (item 8)', () => {
    const pref = (dev: string) => /^interface bond1\n(?: .*\n)*? evpn mh es-df-pref (\d+)\n/m.exec(files[`${dev}.frr.conf`])?.[1];
    // vpg3: ports [leaf3:swp10, leaf4:swp10]
    expect([pref('leaf3'), pref('leaf4')]).toEqual(['50000', '49900']);
  });
});

describe('twin agent applies what it accepts', () => {
  const TEXT = `auto bond1
iface bond1
    bond-slaves swp3
    bond-mode 802.3ad
    es-sys-mac 44:38:39:ff:00:01

auto vxlan100
iface vxlan100
    vxlan-id 100
    bridge-learning off
    bridge-arp-nd-suppress on

auto br100
iface br100
    bridge-ports vxlan100 bond1
    bridge-mcsnoop 0
    hwaddress 00:00:5e:00:01:01
`;
  const cmds = planReconcile(parseInterfaces(TEXT), EMPTY_NETDEV_STATE, new Set()).commands.map((c) => c.join(' '));

  test('es-sys-mac sets the bond LACP actor system', () => {
    expect(cmds).toContain('ip link add bond1 type bond mode 802.3ad lacp_rate slow ad_actor_system 44:38:39:ff:00:01');
  });
  test('bridge-arp-nd-suppress sets neigh_suppress on the bridge port', () => {
    expect(cmds).toContain('bridge link set dev vxlan100 neigh_suppress on');
    // after the port is enslaved: neigh_suppress is a bridge-port attribute
    expect(cmds.indexOf('bridge link set dev vxlan100 neigh_suppress on')).toBeGreaterThan(cmds.indexOf('ip link set vxlan100 master br100'));
  });
  test('hwaddress and bridge-mcsnoop are applied', () => {
    expect(cmds).toContain('ip link set br100 address 00:00:5e:00:01:01');
    expect(cmds).toContain('ip link set br100 type bridge mcast_snooping 0');
  });
  test('es-id and es-df-pref are refused at validate, naming the line', () => {
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    es-id 5\n')).toThrow(/iface bond1.*es-id is not applied/);
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    es-df-pref 50\n')).toThrow(/es-df-pref is not applied/);
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    es-sys-mac nope\n')).toThrow(/not a MAC address/);
  });
});

describe('FRR uplink tracking (item 8)', () => {
  test('a leaf carrying an ESI marks every fabric port `evpn mh uplink`; a leaf without one does not', () => {
    let tracked = 0;
    for (const p of plans) {
      const conf = files[`${p.name}.frr.conf`];
      const multihomed = p.vpgs.some((g) => g.esi);
      for (const i of p.interfaces) {
        const block = new RegExp(`^interface ${i.name.replace(/[/.]/g, '\\$&')}\\n((?: .*\\n)*?)exit`, 'm').exec(conf)![1];
        expect([p.name, i.name, block.includes(' evpn mh uplink')]).toEqual([p.name, i.name, multihomed]);
        if (multihomed) tracked++;
      }
    }
    expect(tracked).toBeGreaterThan(0);
  });
});
