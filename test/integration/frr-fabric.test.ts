// Real FRR on the rendered configs: a 2-spine 3-leaf frr-switch fabric, one namespace per
// device, veth pairs named as the fabric file's ports, zebra + bgpd + bfdd started empty and
// fed the rendered <device>.frr.conf with vtysh -f. Proves that every EBGP session (one per
// link), every EVPN session and every BFD peer comes up, that no config line is rejected, and
// that every device reaches every other loopback (spines through the leaves, which is what
// the overlay-AS trick must allow), and that no leaf is transit between spines for another
// leaf's loopback (issue 14 item 13). Cleans up even on failure.
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { describeIf } from '../helpers/env';
import { FrrLab, LoadResult, pollUntil } from '../helpers/frr-lab';
import { countSessions, expectedFabricState, readFabricState } from '../helpers/frr-fabric-check';

const FABRIC = `
fabric:
  name: frrlab
  credentials: {username: admin, password: s3cret}
  namespaces:
    management: [{cidr: 10.0.0.0/24, gateway: 10.0.0.1}]
    loopback: [10.255.0.0/24]
    fabric: [10.254.0.0/20]
    asn: [{min: 4200000001, max: 4200000100}]
    overlayAsn: 64512
devices:
  - {name: spine1, profile: frr-switch, physicalRole: spine, roles: [Route-Reflector]}
  - {name: spine2, profile: frr-switch, physicalRole: spine, roles: [Route-Reflector]}
  - {name: leaf1, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf2, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
  - {name: leaf3, profile: frr-switch, physicalRole: leaf, roles: [CRB-Access]}
links:
  - [spine1:swp1, leaf1:swp51]
  - [spine1:swp2, leaf2:swp51]
  - [spine1:swp3, leaf3:swp51]
  - [spine2:swp1, leaf1:swp52]
  - [spine2:swp2, leaf2:swp52]
  - [spine2:swp3, leaf3:swp52]
`;

const d = describeIf({
  root: true,
  commands: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', '/usr/lib/frr/bfdd', 'vtysh', 'ip'],
});

d('FRR 8.4 runs the rendered configs of a 2-spine 3-leaf fabric', () => {
  let lab: FrrLab | undefined;
  let plans: DevicePlan[] = [];
  const loads = new Map<string, LoadResult>();
  const configs = new Map<string, string>();

  beforeAll(async () => {
    plans = planFabric(FABRIC).plans;
    const file = planFabric(FABRIC).file;
    for (const p of plans) {
      const { files } = renderDevice(p);
      // underlay only: the interfaces file carries just the fabric ports' MTU (no netdev to create)
      expect(Object.keys(files)).toEqual([`${p.name}.frr.conf`, `${p.name}.interfaces`]);
      expect(files[`${p.name}.interfaces`].split('\n').filter((l) => l.startsWith('    ')).every((l) => l === '    mtu 9216')).toBe(true);
      configs.set(p.name, files[`${p.name}.frr.conf`]);
    }
    lab = await FrrLab.create({ devices: plans.map((p) => p.name), links: file.links });
    for (const p of plans) loads.set(p.name, lab.loadConfig(p.name, configs.get(p.name)!));
  }, 90000);

  afterAll(async () => {
    if (!lab) return;
    await lab.destroy();
    expect(lab.leftovers()).toEqual({ namespaces: [], runDirs: [], pids: [], links: [], tempDir: false });
  }, 30000);

  test('the plan has the expected shape (6 links, 7 EVPN sessions)', () => {
    expect(plans.map((p) => p.underlay.neighbors.length)).toEqual([3, 3, 2, 2, 2]);
    expect(plans.map((p) => p.overlay?.neighbors.length)).toEqual([4, 4, 2, 2, 2]);
  });

  test('vtysh -f accepts every line of every config', () => {
    for (const p of plans) expect({ device: p.name, ...loads.get(p.name) }).toEqual({ device: p.name, ok: true, status: 0, errors: [] });
  });

  test('the running config holds what was rendered (nothing silently dropped)', () => {
    for (const p of plans) {
      const running = lab!.vtysh(p.name, 'show running-config');
      expect(running).toContain(`router bgp ${p.overlay!.asn}`);
      expect(running).not.toContain('no ip forwarding'); // the lab turned it on in each namespace
      expect(running).toContain(`interface lo\n ip address ${p.loopback}/32`);
      for (const n of p.underlay.neighbors) {
        expect(running).toContain(`neighbor ${n.address} remote-as ${n.peerAsn}`);
        expect(running).toContain(`neighbor ${n.address} local-as ${p.asn} no-prepend replace-as`);
        expect(running).toContain(`neighbor ${n.address} bfd profile fabric`);
      }
      for (const n of p.overlay!.neighbors) {
        expect(running).toContain(`neighbor ${n.address} update-source ${p.loopback}`);
        if (n.client) expect(running).toContain(`neighbor ${n.address} route-reflector-client`);
      }
      if (p.overlay!.routeReflector) expect(running).toContain(`bgp cluster-id ${p.overlay!.clusterId}`);
      expect(running).toContain(' bgp graceful-restart\n');
      if (p.features.includes('overlay_evpn')) expect(running).toContain('  advertise-all-vni\n');
      else expect(running).not.toContain('advertise-all-vni');
    }
  });

  test('every EBGP, EVPN and BFD session is up and every device reaches every loopback', async () => {
    const want = expectedFabricState(plans);
    const r = await pollUntil(() => readFabricState(lab!, plans), (v) => JSON.stringify(v) === JSON.stringify(want),
      { timeoutMs: 60000, intervalMs: 1000 });
    expect(r.value).toEqual(want);
    // 6 links = 12 EBGP session ends; 7 EVPN sessions = 14 ends; 12 BFD peers.
    expect(countSessions(r.value)).toEqual({ ebgp: 12, evpn: 14, bfd: 12 });
    // eslint-disable-next-line no-console
    console.log(`FRR fabric converged in ${r.elapsedMs} ms after config load`);
  }, 90000);

  test('the overlay AS never enters an underlay path; spines reach each other through the leaves', () => {
    const spine2 = plans.find((p) => p.name === 'spine2')!;
    const route = lab!.vtyshJson<{ paths: { aspath: { string: string }; valid?: boolean }[] }>(
      'spine1', `show bgp ipv4 unicast ${spine2.loopback}/32 json`);
    const leafAsns = plans.filter((p) => p.physicalRole === 'leaf').map((p) => p.asn);
    const paths = route.paths.map((x) => x.aspath.string).sort();
    expect(paths).toEqual(leafAsns.map((a) => `${a} ${spine2.asn}`).sort());
    for (const p of paths) expect(p).not.toContain('64512');
  });

  test('no leaf is transit for another leaf: a spine holds one path to a leaf loopback, the direct one (issue 14 item 13)', async () => {
    // Without the leaves' outbound policy spine1 also learns leaf2's loopback through leaf1 and
    // leaf3 (paths "leaf1 spine2 leaf2"), the valley paths it would try after a failure.
    const leaves = plans.filter((p) => p.physicalRole === 'leaf');
    const spines = plans.filter((p) => p.physicalRole === 'spine');
    const read = () => spines.flatMap((spine) => leaves.map((leaf) => [spine.name, leaf.name,
      (lab!.vtyshJson<{ paths?: { aspath: { string: string } }[] }>(spine.name, `show bgp ipv4 unicast ${leaf.loopback}/32 json`).paths ?? []).map((x) => x.aspath.string).sort()]));
    // every spine has its direct path to every leaf, and every spine loopback has gone round
    // (so a valley path, if leaves passed them on, has had its time to arrive)
    await pollUntil(() => read(), (v) => v.every(([, , paths]) => (paths as string[]).length > 0), { timeoutMs: 30000, intervalMs: 500 });
    await new Promise((r) => setTimeout(r, 3000));
    expect(read()).toEqual(spines.flatMap((spine) => leaves.map((leaf) => [spine.name, leaf.name, [String(leaf.asn)]])));
  }, 60000);
});
