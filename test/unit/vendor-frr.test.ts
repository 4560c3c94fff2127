// Issue 14, FRR faults and the twin agent applying every interfaces key it accepts. The render
// tests fail on the templates from before (checked by reverting them); the agent tests fail
// when a key is accepted and dropped.
import { planFabric } from '../../src/intent';
import { renderDevices } from '../../src/platforms';
import { EMPTY_NETDEV_STATE, parseInterfaces, planReconcile } from '../../src/lab/agent/interfaces';
import { runNetdevCommands, splitJsonDocuments } from '../../src/lab/agent/device';
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
    const actor = new Map<string, Set<string>>(); // frr.conf es-id -> the bonds' es-sys-mac in .interfaces
    for (const [f, conf] of Object.entries(files).filter(([n]) => n.endsWith('.frr.conf'))) {
      for (const m of conf.matchAll(/^interface (\S+)\n evpn mh es-id (\S+)\n evpn mh es-sys-mac (\S+)/gm)) {
        const dev = f.replace('.frr.conf', '');
        const bond = stanzas.find(([g, n]) => g === `${dev}.interfaces` && n === m[1]);
        expect(bond?.[2]).toContain(`es-sys-mac ${m[3]}\n`);
        actor.set(m[2], new Set([...(actor.get(m[2]) ?? []), /es-sys-mac (\S+)/.exec(bond![2])![1]]));
      }
    }
    expect(actor.size).toBeGreaterThan(0);
    for (const macs of actor.values()) expect(macs.size).toBe(1);
  });

  test('the VPG\'s first leaf is the designated forwarder: es-df-pref 50000 there, 49900 on the next (item 8)', () => {
    const pref = (dev: string) => /^interface bond1\n(?: .*\n)*? evpn mh es-df-pref (\d+)\n/m.exec(files[`${dev}.frr.conf`])?.[1];
    // vpg3: ports [leaf3:swp10, leaf4:swp10]
    expect([pref('leaf3'), pref('leaf4')]).toEqual(['50000', '49900']);
  });

  test('a leaf carrying an ESI marks every fabric port `evpn mh uplink`; a leaf without one does not (item 8)', () => {
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
`;
  const cmds = planReconcile(parseInterfaces(TEXT), EMPTY_NETDEV_STATE, new Set()).commands.map((c) => c.join(' '));

  test('es-sys-mac sets the bond LACP actor system at creation; a change makes the bond again', () => {
    expect(cmds).toContain('ip link add bond1 type bond mode 802.3ad lacp_rate slow ad_actor_system 44:38:39:ff:00:01');
    const first = planReconcile(parseInterfaces(TEXT), EMPTY_NETDEV_STATE, new Set(['swp3']));
    const again = planReconcile(parseInterfaces(TEXT.replace('ff:00:01', 'ff:00:02')), first.state, new Set(['swp3', 'bond1', 'vxlan100', 'br100']));
    expect(again.commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['ip link del bond1', 'ip link add bond1 type bond mode 802.3ad lacp_rate slow ad_actor_system 44:38:39:ff:00:02']));
    expect(() => parseInterfaces('auto swp3\niface swp3\n    es-sys-mac 44:38:39:ff:00:01\n')).toThrow(/es-sys-mac belongs on an 802.3ad bond/);
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    bond-mode 802.3ad\n    es-sys-mac nope\n')).toThrow(/not a MAC address/);
  });
  test('es-id and es-df-pref are refused at validate, naming the line (they are frr.conf\'s)', () => {
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    es-id 5\n')).toThrow(/iface bond1.*es-id is not applied/);
    expect(() => parseInterfaces('auto bond1\niface bond1\n    bond-slaves swp3\n    es-df-pref 50\n')).toThrow(/es-df-pref is not applied/);
  });
  test('bridge-arp-nd-suppress sets neigh_suppress on the bridge port, after it is enslaved', () => {
    expect(cmds).toContain('bridge link set dev vxlan100 neigh_suppress on');
    expect(cmds.indexOf('bridge link set dev vxlan100 neigh_suppress on')).toBeGreaterThan(cmds.indexOf('ip link set vxlan100 master br100'));
    expect(() => parseInterfaces('auto vx\niface vx\n    vxlan-id 5\n    bridge-arp-nd-suppress maybe\n\nauto br5\niface br5\n    bridge-ports vx\n')).toThrow(/bridge-arp-nd-suppress must be on or off/);
    expect(() => parseInterfaces('auto vx\niface vx\n    vxlan-id 5\n    bridge-arp-nd-suppress on\n')).toThrow(/bridge port setting; vx is in no bridge-ports/);
  });
});

describe('twin agent: every other key it accepts is applied or refused', () => {
  const TEXT = `auto bond2
iface bond2
    bond-slaves swp4 swp5
    bond-mode 802.3ad
    bond-xmit-hash-policy layer3+4

auto swp6.100
iface swp6.100
    vlan-protocol 802.1ad
    alias to bms9 "rack 4"

auto br7
iface br7
    bridge-ports swp7
    bridge-mcsnoop 0
    bridge-stp off
    hwaddress 00:00:5e:00:01:01

auto swp7
iface swp7
    bridge-learning off
`;
  const cmds = planReconcile(parseInterfaces(TEXT), EMPTY_NETDEV_STATE, new Set(['swp4', 'swp5', 'swp6', 'swp7'])).commands.map((c) => c.join(' '));
  test('applied: hwaddress, bridge-mcsnoop, alias, bond-xmit-hash-policy, vlan-protocol, bridge-learning on a bridge port', () => {
    expect(cmds).toEqual(expect.arrayContaining([
      'ip link set br7 address 00:00:5e:00:01:01',
      'ip link set br7 type bridge mcast_snooping 0',
      'ip link set swp6.100 alias to bms9 "rack 4"',
      'ip link add bond2 type bond mode 802.3ad lacp_rate slow xmit_hash_policy layer3+4',
      'ip link add link swp6 name swp6.100 type vlan protocol 802.1ad id 100',
      'bridge link set dev swp7 learning off',
    ]));
  });
  test.each([
    ['bridge-stp on', 'auto br1\niface br1\n    bridge-ports swp1\n    bridge-stp on\n', /bridge-stp on is not applied/],
    ['vxlan-remoteip', 'auto vx1\niface vx1\n    vxlan-id 7\n    vxlan-remoteip 10.0.0.9\n', /vxlan-remoteip .* not applied/],
    ['bridge-mcsnoop off a bridge', 'auto swp1\niface swp1\n    bridge-mcsnoop 1\n', /bridge-mcsnoop belongs on a bridge/],
    ['bridge-access on a traditional bridge', 'auto br1\niface br1\n    bridge-ports swp1\n\nauto swp1\niface swp1\n    bridge-access 10\n', /bridge-access needs a port of a bridge with bridge-vlan-aware yes/],
    ['bridge-vids on a traditional bridge', 'auto br1\niface br1\n    bridge-ports swp1\n    bridge-vids 10\n', /bridge-vids needs bridge-vlan-aware yes/],
    ['bond-lacp-rate outside 802.3ad', 'auto bond1\niface bond1\n    bond-slaves swp1\n    bond-mode active-backup\n    bond-lacp-rate 1\n', /bond-lacp-rate needs bond-mode 802.3ad/],
    ['an unknown hash policy', 'auto bond1\niface bond1\n    bond-slaves swp1\n    bond-xmit-hash-policy nope\n', /bond-xmit-hash-policy "nope" unknown/],
    ['a bad hwaddress', 'auto br1\niface br1\n    bridge-ports swp1\n    hwaddress 00:11\n', /hwaddress "00:11" is not a MAC address/],
  ])('refused at validate: %s', (_what, text, re) => {
    expect(() => parseInterfaces(text)).toThrow(re);
  });
});

describe('twin agent: one vtysh for a NETCONF get\'s three show commands', () => {
  test('splits concatenated documents, strings with braces and escapes included', () => {
    const a = { default: { ipv4Unicast: { peers: { '10.0.0.1': { state: 'Established', desc: 'a {b} "c" \\ d' } } } } };
    const text = `${JSON.stringify(a, null, 2)}\n{}\n[1,{"x":"]"}]\n`;
    expect(splitJsonDocuments(text)?.map((d) => JSON.parse(d))).toEqual([a, {}, [1, { x: ']' }]]);
  });
  test('refuses what is not a sequence of documents (the agent then asks per command)', () => {
    expect(splitJsonDocuments('% Unknown command\n{}')).toBeUndefined();
    expect(splitJsonDocuments('{"a": 1')).toBeUndefined();
    expect(splitJsonDocuments('}{')).toBeUndefined();
  });
});

describe('twin agent: netdev commands in batches (one process per run of ip or bridge commands)', () => {
  const fake = (fail: Record<string, string>) => {
    const calls: { argv: string[]; input?: string }[] = [];
    const exec = async (argv: string[], opts: { input?: string } = {}) => {
      calls.push({ argv, input: opts.input });
      const lines = argv[1] === '-batch' ? opts.input!.trim().split('\n') : [argv.slice(1).join(' ')];
      const bad = lines.findIndex((l) => fail[l] !== undefined);
      if (bad < 0) return { code: 0, stdout: '', stderr: '' };
      return { code: 1, stdout: '', stderr: `${fail[lines[bad]]}\n${argv[1] === '-batch' ? `Command failed -:${bad + 1}\n` : ''}` };
    };
    return { calls, exec };
  };
  const CMDS = [['ip', 'link', 'add', 'br1', 'type', 'bridge'], ['ip', 'addr', 'del', '10.0.0.1/24', 'dev', 'br1'], ['ip', 'link', 'set', 'br1', 'up'],
    ['bridge', 'link', 'set', 'dev', 'vx1', 'neigh_suppress', 'on'], ['ip', 'link', 'set', 'swp1', 'alias', 'to bms1 rack 4'], ['ip', 'link', 'set', 'swp1', 'up']];
  test('consecutive ip commands go as one batch, in order; a quoted argument runs alone', async () => {
    const f = fake({});
    expect(await runNetdevCommands(CMDS, f.exec as never)).toBeUndefined();
    expect(f.calls.map((c) => c.argv.join(' '))).toEqual(['ip -batch -', 'bridge link set dev vx1 neigh_suppress on', 'ip link set swp1 alias to bms1 rack 4', 'ip link set swp1 up']);
    expect(f.calls[0].input).toBe('link add br1 type bridge\naddr del 10.0.0.1/24 dev br1\nlink set br1 up\n');
  });
  test('a missing address to remove is tolerated (the rest runs); any other failure names its command', async () => {
    const f = fake({ 'addr del 10.0.0.1/24 dev br1': 'Error: ipv4: Address not found.' });
    expect(await runNetdevCommands(CMDS, f.exec as never)).toBeUndefined();
    expect(f.calls[1].argv.join(' ')).toBe('ip link set br1 up'); // resumed after the tolerated line
    const g = fake({ 'link set br1 up': 'Cannot find device "br1"' });
    expect(await runNetdevCommands(CMDS, g.exec as never)).toEqual({ argv: CMDS[2], stderr: 'Cannot find device "br1"\n' });
    expect(g.calls).toHaveLength(1); // stopped there
  });
});
