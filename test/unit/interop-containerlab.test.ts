// containerlab export: the topology's shape as containerlab reads it (name, mgmt, topology.nodes
// with kind/image/binds/exec, topology.links[].endpoints "node:iface"), the bound files are the
// rendered configs, the links are the fabric's, the netdevs come from the rendered interfaces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { planFabric } from '../../src/intent/compile';
import { renderDevice } from '../../src/platforms';
import { DEFAULT_FRR_IMAGE, fabricToContainerlab, renderedSwitches } from '../../src/interop/containerlab';

const EX = join(__dirname, '../../examples');

describe('containerlab export', () => {
  const text = readFileSync(join(EX, 'dc1-frr-services.yaml'), 'utf8');
  const p = planFabric(text);
  const r = fabricToContainerlab(p.file, renderedSwitches(p.plans));
  const topo = load(r.files[r.topology]) as any;

  test('a topology file containerlab reads: name, mgmt on the management subnet, nodes and links', () => {
    expect(r.topology).toBe('dc1.clab.yml');
    expect(Object.keys(topo).sort()).toEqual(['mgmt', 'name', 'topology']);
    expect(topo.name).toBe('dc1');
    expect(topo.mgmt).toEqual({ network: 'fz-dc1', 'ipv4-subnet': '10.0.0.0/24', 'ipv4-gw': '10.0.0.1' });
    expect(Object.keys(topo.topology).sort()).toEqual(['links', 'nodes']);
    for (const l of topo.topology.links) {
      expect(Object.keys(l)).toEqual(['endpoints']);
      expect(l.endpoints).toHaveLength(2);
      for (const e of l.endpoints) expect(e).toMatch(/^[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]+$/);
    }
  });

  test('every switch is an FRR node with its rendered frr.conf bound, servers are plain nodes', () => {
    const switches = p.file.devices.map((d) => d.name);
    expect(Object.keys(topo.topology.nodes).sort()).toEqual([...switches, 'bms1', 'bms2', 'bms3'].sort());
    for (const plan of p.plans) {
      const n = topo.topology.nodes[plan.name];
      expect(n.kind).toBe('linux');
      expect(n.image).toBe(DEFAULT_FRR_IMAGE);
      expect(n.binds).toContain(`${plan.name}/frr.conf:/etc/frr/frr.conf`);
      expect(n.binds).toContain(`${plan.name}/daemons:/etc/frr/daemons`);
      for (const b of n.binds) expect(Object.keys(r.files)).toContain(b.split(':')[0]); // every bind has its file
      expect(r.files[`${plan.name}/frr.conf`]).toBe(renderDevice(plan).files[`${plan.name}.frr.conf`]);
    }
    expect(r.files['leaf1/daemons']).toMatch(/^bgpd=yes$/m);
    expect(r.files['leaf1/daemons']).toMatch(/^bfdd=yes$/m);
    expect(topo.topology.nodes.bms3).toEqual({ kind: 'linux', image: 'alpine:3', labels: { 'fabric-ztp.role': 'server' } });
  });

  test('links as the fabric stores them, plus the servers\' NICs', () => {
    const fabricLinks = p.file.links.map((l) => [`${l.a.device}:${l.a.port}`, `${l.b.device}:${l.b.port}`]);
    expect(topo.topology.links.slice(0, fabricLinks.length).map((l: any) => l.endpoints)).toEqual(fabricLinks);
    expect(topo.topology.links.slice(fabricLinks.length).map((l: any) => l.endpoints)).toEqual([
      ['bms1:eth1', 'leaf1:swp10'], ['bms2:eth1', 'leaf2:swp10'], ['bms3:eth1', 'leaf3:swp10'], ['bms3:eth2', 'leaf4:swp10']]);
  });

  test('the fabric\'s netdevs (VRF, VXLAN, bridges, VLAN subinterfaces) are created by exec, as the twin\'s agent does', () => {
    const leaf2 = topo.topology.nodes.leaf2.exec as string[];
    expect(leaf2.some((c) => /^ip link add tenant1 type vrf table \d+$/.test(c))).toBe(true);
    expect(leaf2).toContain('ip link add link swp10 name swp10.200 type vlan id 200');
    expect(leaf2.some((c) => c.startsWith('ip link add vxlan10020 type vxlan id 10020'))).toBe(true);
    expect(leaf2).toContain('ip link set swp10.200 master br10020');
    // spines carry no overlay services: no netdevs to make, only the fabric MTU (issue 14 item 10)
    expect(topo.topology.nodes.spine1.exec).toEqual(expect.arrayContaining(['ip link set swp1 mtu 9216']));
    expect(topo.topology.nodes.spine1.exec.some((c: string) => c.includes('link add'))).toBe(false);
  });

  test('Junos fabrics are refused with one line', () => {
    const j = planFabric(readFileSync(join(EX, 'dc1-junos.yaml'), 'utf8'));
    expect(() => fabricToContainerlab(j.file, renderedSwitches(j.plans))).toThrow(/^containerlab export needs FRR devices; spine1, .* are Junos/);
  });
});
