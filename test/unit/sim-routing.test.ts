// The simulator's routing stand-in (src/lab/sim/routing.ts) on the golden dc1 FRR configs:
// sessions and routes follow from what each device was pushed and which devices are up.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimRouting, parseSimFrr } from '../../src/lab/sim/routing';

const DEVS = ['leaf1', 'leaf2', 'leaf3', 'leaf4', 'spine1', 'spine2'];
const conf = (d: string) => readFileSync(join(__dirname, '..', 'golden', 'dc1-frr', `${d}.frr.conf`), 'utf8');
const fabric = () => { const r = new SimRouting(); for (const d of DEVS) r.setConfig(d, conf(d)); return r; };
const view = (r: SimRouting, d: string) => r.sessions(d).map((s) => `${s.peerDevice ?? s.peer}/${s.afi}/${s.state}`).sort();

describe('sim routing', () => {
  test('parses addresses, loopbacks, the default instance and its neighbours per address family', () => {
    const p = parseSimFrr(conf('leaf1'));
    expect(p.asn).toBe('64512');
    expect(p.loopbacks).toEqual(['10.255.0.3']);
    expect(p.addresses).toEqual(['10.255.0.3', '10.254.0.1', '10.254.0.9']);
    expect(p.neighbors.map((n) => `${n.address} ${n.remoteAs} ${n.localAs ?? '-'} ${n.afis.join(',')}`)).toEqual([
      '10.254.0.0 64601 64603 ipv4Unicast', '10.254.0.8 64602 64603 ipv4Unicast',
      '10.255.0.1 internal - l2VpnEvpn', '10.255.0.2 internal - l2VpnEvpn',
    ]);
  });

  test('every configured session Established, routes to every loopback', () => {
    const r = fabric();
    expect(view(r, 'leaf1')).toEqual(['spine1/ipv4Unicast/Established', 'spine1/l2VpnEvpn/Established', 'spine2/ipv4Unicast/Established', 'spine2/l2VpnEvpn/Established']);
    expect(r.routes('leaf1')).toHaveLength(6);
    expect(r.frrStateXml('leaf1')).toContain('<state>Established</state>');
  });

  test('a peer that is down (rebooting): its sessions Active at the others, its loopback gone, back when it is up', () => {
    const r = fabric();
    r.setUp('spine1', false);
    expect(view(r, 'leaf1')).toEqual(['10.254.0.0/ipv4Unicast/Active', '10.255.0.1/l2VpnEvpn/Active', 'spine2/ipv4Unicast/Established', 'spine2/l2VpnEvpn/Established']);
    expect(r.routes('leaf1')).not.toContain('10.255.0.1/32');
    expect(r.routes('leaf1')).toHaveLength(5);
    expect(r.sessions('spine1')).toEqual([]);
    expect(r.frrStateXml('spine1')).toContain('<phase>rebooting</phase>');
    r.setUp('spine1', true);
    expect(view(r, 'leaf1').every((s) => s.endsWith('/Established'))).toBe(true);
  });

  test('a leaf cut off from both spines loses the EVPN sessions too (they ride on the underlay)', () => {
    const r = fabric();
    r.setConfig('leaf1', conf('leaf1').replace(/^ {2}neighbor 10\.254\.0\.\d+ activate\n/gm, ''));
    expect(view(r, 'leaf1')).toEqual(['spine1/l2VpnEvpn/Active', 'spine2/l2VpnEvpn/Active']);
    expect(r.routes('leaf1')).toEqual(['10.255.0.3/32']);
  });

  test('a wrong remote-as or a missing neighbour at the other end: not Established', () => {
    const r = fabric();
    r.setConfig('spine1', conf('spine1').replace(' neighbor 10.254.0.1 remote-as 64603', ' neighbor 10.254.0.1 remote-as 64999'));
    expect(view(r, 'leaf1')).toContain('10.254.0.0/ipv4Unicast/Active');
    r.setConfig('spine1', conf('spine1').replace(/^ neighbor 10\.255\.0\.3 .*\n/gm, '').replace(/^ {2}neighbor 10\.255\.0\.3 activate\n/gm, ''));
    expect(view(r, 'leaf1')).toEqual(['10.255.0.1/l2VpnEvpn/Active', 'spine1/ipv4Unicast/Established', 'spine2/ipv4Unicast/Established', 'spine2/l2VpnEvpn/Established']);
  });
});
