// Real FRR on a mixed fabric (test/golden/fabrics/mixed-frr.yaml): an overlay fabric where one
// spine is lean (plain EBGP in its own ASN, no EVPN), BFD off, 4-byte ASNs. The lean spine must
// still carry loopbacks between leaves that speak the overlay AS with local-as replace-as.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { describeIf } from '../helpers/env';
import { FrrLab, LoadResult, pollUntil } from '../helpers/frr-lab';
import { countSessions, expectedFabricState, readFabricState } from '../helpers/frr-fabric-check';

const FILE = path.resolve(__dirname, '../golden/fabrics/mixed-frr.yaml');

const d = describeIf({
  root: true,
  commands: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', '/usr/lib/frr/bfdd', 'vtysh', 'ip'],
});

d('FRR 8.4 runs a mixed fabric (lean spine among overlay devices)', () => {
  let lab: FrrLab | undefined;
  let plans: DevicePlan[] = [];
  const loads = new Map<string, LoadResult>();

  beforeAll(async () => {
    const fp = planFabric(readFileSync(FILE, 'utf8'));
    plans = fp.plans;
    lab = await FrrLab.create({ devices: plans.map((p) => p.name), links: fp.file.links });
    for (const p of plans) loads.set(p.name, lab.loadConfig(p.name, renderDevice(p).files[`${p.name}.frr.conf`]));
  }, 90000);

  afterAll(async () => {
    if (!lab) return;
    await lab.destroy();
    expect(lab.leftovers()).toEqual({ namespaces: [], runDirs: [], pids: [], links: [], tempDir: false });
  }, 30000);

  test('configs load cleanly; the lean spine runs its own ASN', () => {
    for (const p of plans) expect({ device: p.name, ...loads.get(p.name) }).toEqual({ device: p.name, ok: true, status: 0, errors: [] });
    const spine2 = plans.find((p) => p.name === 'spine2')!;
    expect(spine2.overlay).toBeUndefined();
    expect(lab!.vtysh('spine2', 'show running-config')).toContain(`router bgp ${spine2.asn}\n`);
  });

  test('4 EBGP sessions, 2 EVPN sessions, no BFD, every loopback reachable', async () => {
    const want = expectedFabricState(plans);
    const r = await pollUntil(() => readFabricState(lab!, plans), (v) => JSON.stringify(v) === JSON.stringify(want),
      { timeoutMs: 60000, intervalMs: 1000 });
    expect(r.value).toEqual(want);
    expect(countSessions(r.value)).toEqual({ ebgp: 8, evpn: 4, bfd: 0 });
  }, 90000);

  test('leaf2 reaches leaf1 through both spines (ECMP), with no overlay AS in any path', () => {
    const [leaf1, spine1, spine2] = ['leaf1', 'spine1', 'spine2'].map((n) => plans.find((p) => p.name === n)!);
    const route = lab!.vtyshJson<{ paths: { aspath: { string: string }; multipath?: boolean; bestpath?: { overall?: boolean } }[] }>(
      'leaf2', `show bgp ipv4 unicast ${leaf1.loopback}/32 json`);
    const paths = route.paths.map((x) => x.aspath.string).sort();
    expect(paths).toEqual([`${spine1.asn} ${leaf1.asn}`, `${spine2.asn} ${leaf1.asn}`].sort());
    for (const p of paths) expect(p).not.toContain(String(leaf1.overlay!.asn));
    // ECMP across different spine ASNs (multipath-relax): both next hops in the RIB.
    const rib = lab!.vtyshJson<Record<string, { selected?: boolean; nexthops: { ip: string; active?: boolean }[] }[]>>(
      'leaf2', `show ip route ${leaf1.loopback}/32 json`);
    const leaf2 = plans.find((p) => p.name === 'leaf2')!;
    const viaSpines = leaf2.underlay.neighbors.filter((n) => n.peerDevice.startsWith('spine')).map((n) => n.address).sort();
    const best = rib[`${leaf1.loopback}/32`].find((r) => r.selected)!;
    expect(best.nexthops.filter((h) => h.active).map((h) => h.ip).sort()).toEqual(viaSpines);
  });
});
