import { buildTopology, diffPlan, type TopologyDevice, type LldpNeighbor } from '../../src/discovery/topology';

const nb = (localPort: string, remoteSysName: string, remotePortId: string): LldpNeighbor => ({ localPort, remoteSysName, remotePortId });

function fabric(): TopologyDevice[] {
  return [
    { name: 'spine1', physicalRole: 'spine', neighbors: [nb('swp1', 'leaf1', 'swp51'), nb('swp2', 'leaf2', 'swp51')] },
    { name: 'spine2', physicalRole: 'spine', neighbors: [nb('swp1', 'leaf1', 'swp52'), nb('swp2', 'leaf2', 'swp52')] },
    { name: 'leaf1', physicalRole: 'leaf', neighbors: [nb('swp51', 'spine1', 'swp1'), nb('swp52', 'spine2', 'swp1')] },
    { name: 'leaf2', physicalRole: 'leaf', neighbors: [nb('swp51', 'spine1', 'swp2'), nb('swp52', 'spine2', 'swp2')] },
  ];
}
const dev = (ds: TopologyDevice[], name: string): TopologyDevice => ds.find((d) => d.name === name)!;

describe('buildTopology', () => {
  test('a correctly cabled 2x2 gives 4 agreed links and no anomaly', () => {
    const r = buildTopology(fabric());
    expect(r.anomalies).toEqual([]);
    expect(r.links.map((l) => `${l.a.device}:${l.a.port}-${l.b.device}:${l.b.port}`)).toEqual([
      'leaf1:swp51-spine1:swp1', 'leaf1:swp52-spine2:swp1', 'leaf2:swp51-spine1:swp2', 'leaf2:swp52-spine2:swp2',
    ]);
    expect(r.links.every((l) => l.addressed && !l.anomaly)).toBe(true);
  });

  test('neighbors are recognised by alias (serial / FQDN) and chassis ID', () => {
    const ds = fabric();
    dev(ds, 'leaf1').aliases = ['SER001'];
    dev(ds, 'spine1').neighbors![0] = nb('swp1', 'SER001', 'swp51');
    dev(ds, 'spine2').chassisIds = ['00:11:22:33:44:55'];
    dev(ds, 'leaf1').neighbors![1] = { localPort: 'swp52', remoteChassisId: '00:11:22:33:44:55', remotePortId: 'swp1' };
    dev(ds, 'leaf2').neighbors![0] = nb('swp51', 'spine1.dc1.example', 'swp2');
    const r = buildTopology(ds);
    expect(r.anomalies).toEqual([]);
    expect(r.links).toHaveLength(4);
  });

  test('a port ID that is not the ifname is mapped through the local port IDs', () => {
    const ds = fabric();
    dev(ds, 'leaf1').neighbors![0] = { localPort: 'swp51', localPortId: 'aa:bb:cc:00:00:51', remoteSysName: 'spine1', remotePortId: 'swp1' };
    dev(ds, 'spine1').neighbors![0] = nb('swp1', 'leaf1', 'aa:bb:cc:00:00:51');
    const r = buildTopology(ds);
    expect(r.anomalies).toEqual([]);
    expect(r.links.find((l) => l.b.device === 'spine1' && l.b.port === 'swp1')?.a).toEqual({ device: 'leaf1', port: 'swp51' });
  });

  test('a link seen from one end only is reported, not made a link', () => {
    const ds = fabric();
    dev(ds, 'leaf2').neighbors!.pop(); // leaf2 no longer reports spine2
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(3);
    expect(r.anomalies).toHaveLength(1);
    expect(r.anomalies[0]).toMatchObject({ kind: 'one-sided', device: 'spine2', port: 'swp2' });
    expect(r.anomalies[0].message).toBe('spine2:swp2 sees leaf2:swp52, but leaf2:swp52 reports no neighbor');
  });

  test('a device whose table could not be read makes its peers one-sided, with the reason', () => {
    const ds = fabric();
    dev(ds, 'leaf2').neighbors = null;
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(2);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['one-sided', 'one-sided']);
    expect(r.anomalies[0].message).toContain("leaf2's LLDP table could not be read");
  });

  test('a leaf-leaf link is kept, flagged and not addressed', () => {
    const ds = fabric();
    dev(ds, 'leaf1').neighbors!.push(nb('swp49', 'leaf2', 'swp49'));
    dev(ds, 'leaf2').neighbors!.push(nb('swp49', 'leaf1', 'swp49'));
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(5);
    const ll = r.links.filter((l) => l.anomaly === 'leaf-leaf');
    expect(ll).toEqual([{ a: { device: 'leaf1', port: 'swp49' }, b: { device: 'leaf2', port: 'swp49' }, addressed: false, anomaly: 'leaf-leaf' }]);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['leaf-leaf']);
  });

  test('a port cabled to a device outside the fabric is reported', () => {
    const ds = fabric();
    dev(ds, 'leaf1').neighbors!.push(nb('swp10', 'stranger', 'eth0'));
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(4);
    expect(r.anomalies).toEqual([{
      kind: 'outside-fabric', device: 'leaf1', port: 'swp10',
      message: 'leaf1:swp10 is cabled to stranger port eth0, which is not in the fabric',
    }]);
  });

  test('two links on one port: reported, no link made on that port', () => {
    const ds = fabric();
    // spine1:swp1 sees both leaf1:swp51 and leaf2:swp53 (a hub or a mislabelled patch)
    dev(ds, 'spine1').neighbors!.push(nb('swp1', 'leaf2', 'swp53'));
    dev(ds, 'leaf2').neighbors!.push(nb('swp53', 'spine1', 'swp1'));
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(3);
    expect(r.links.some((l) => [l.a, l.b].some((e) => e.device === 'spine1' && e.port === 'swp1'))).toBe(false);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['port-conflict']);
    expect(r.anomalies[0].message).toBe('spine1:swp1 has 2 LLDP neighbors (leaf1:swp51, leaf2:swp53); not turned into links');
  });

  test('ends that disagree on ports are reported', () => {
    const ds = fabric();
    dev(ds, 'leaf1').neighbors![0] = nb('swp51', 'spine1', 'swp9');
    const r = buildTopology(ds);
    expect(r.links).toHaveLength(3);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['disagree']);
  });

  test('every difference from a cabling plan is reported', () => {
    const ds = fabric();
    // leaf2:swp52 was planned to spine2:swp2 but is cabled to spine2:swp3
    dev(ds, 'spine2').neighbors![1] = nb('swp3', 'leaf2', 'swp52');
    dev(ds, 'leaf2').neighbors![1] = nb('swp52', 'spine2', 'swp3');
    const plan = [
      { a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp51' } },
      { a: { device: 'spine2', port: 'swp1' }, b: { device: 'leaf1', port: 'swp52' } },
      { a: { device: 'spine1', port: 'swp2' }, b: { device: 'leaf2', port: 'swp51' } },
      { a: { device: 'spine2', port: 'swp2' }, b: { device: 'leaf2', port: 'swp52' } },
      { a: { device: 'spine1', port: 'swp3' }, b: { device: 'leaf3', port: 'swp51' } },
    ];
    const r = buildTopology(ds, { cablingPlan: plan });
    expect(r.links).toHaveLength(4);
    expect(r.anomalies.map((a) => `${a.kind}: ${a.message}`)).toEqual([
      'plan-miswired: planned leaf2:swp52 -- spine2:swp2 is cabled as leaf2:swp52 -- spine2:swp3',
      'plan-missing: planned leaf3:swp51 -- spine1:swp3 not found',
      'not-in-plan: found leaf2:swp52 -- spine2:swp3, not in the plan (see the miswired link)',
    ]);
  });

  test('a plan that matches gives no difference', () => {
    const r = buildTopology(fabric());
    expect(diffPlan(r.links, r.links.map((l) => ({ a: l.b, b: l.a })))).toEqual([]);
  });
});
