// Every rendered overlay-services config (test/golden/fabrics/services-frr.yaml: L2VNIs with
// per-VNI RD/route targets, CRB and ERB logical routers with VRF + L3VNI + type-5 BGP VRF
// instances, ESI-LAG with `evpn mh es-id/es-sys-mac`) loads into empty FRR 8.4 daemons with
// `vtysh -f` without a single complaint, and FRR keeps what it was given (the running config
// has the VNI, VRF and ES lines). Loading needs only the daemons, no netdevs (no links either).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { renderDevice } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { describeIf } from '../helpers/env';
import { FrrLab, LoadResult } from '../helpers/frr-lab';

const REPO = path.resolve(__dirname, '../..');
const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh', 'ip'] });

d('FRR 8.4 loads the rendered overlay-services configs', () => {
  let lab: FrrLab | undefined;
  let plans: DevicePlan[] = [];
  const loads = new Map<string, LoadResult>();

  beforeAll(async () => {
    plans = planFabric(readFileSync(path.join(REPO, 'test/golden/fabrics/services-frr.yaml'), 'utf8')).plans;
    // The same fabric with 4-byte ASNs (route targets <4-byte AS>:<VNI>), loaded into two more
    // routers of the lab: a CRB gateway spine and an ERB leaf with the ESI-LAG.
    const text4 = readFileSync(path.join(REPO, 'test/golden/fabrics/services-frr.yaml'), 'utf8')
      .replace('asn: [{min: 64601, max: 64700}]', 'asn: [{min: 4200000001, max: 4200000100}]')
      .replace('overlayAsn: 64512', 'overlayAsn: 4210000000');
    const plans4 = planFabric(text4).plans.filter((p) => p.name === 'spine1' || p.name === 'leaf3');
    lab = await FrrLab.create({ devices: [...plans.map((p) => p.name), 'a4spine1', 'a4leaf3'], links: [], daemons: ['zebra', 'bgpd'] });
    for (const p of plans) loads.set(p.name, lab.loadConfig(p.name, renderDevice(p).files[`${p.name}.frr.conf`]));
    for (const p of plans4) loads.set(`a4${p.name}`, lab.loadConfig(`a4${p.name}`, renderDevice(p).files[`${p.name}.frr.conf`]));
  }, 90000);

  afterAll(async () => {
    if (!lab) return;
    await lab.destroy();
    expect(lab.leftovers()).toEqual({ namespaces: [], runDirs: [], pids: [], links: [], tempDir: false });
  }, 30000);

  test('every device loads with no complaint', () => {
    const bad = [...loads].filter(([, r]) => !r.ok).map(([n, r]) => `${n}: ${r.errors.join(' | ')}`);
    expect(bad).toEqual([]);
    expect(loads.size).toBe(8);
  });

  test('FRR keeps the services: VNI route targets, VRF L3VNI, type-5, ES, default-gw', () => {
    const leaf3 = lab!.vtysh('leaf3', 'show running-config');
    expect(leaf3).toContain('vrf erb1\n vni 20002\nexit-vrf');
    expect(leaf3).toContain('router bgp 64512 vrf erb1');
    expect(leaf3).toContain('  advertise ipv4 unicast');
    // FRR prints a VNI's route targets only when they differ from its auto-derived <AS>:<VNI>,
    // which is exactly what we derive: the RD shows the block was taken.
    expect(leaf3).toMatch(/ vni 10300\n\s+rd 10\.255\.0\.5:13445\n\s+exit-vni/);
    expect(leaf3).toMatch(/ vni 10100\n\s+rd 10\.255\.0\.5:10110\n\s+exit-vni/);
    // FRR prints the designated-forwarder preference first (issue 14 item 8: the first leg's 50000).
    expect(leaf3).toMatch(/interface bond1\n evpn mh es-df-pref 50000\n evpn mh es-id 7077889\n evpn mh es-sys-mac 02:2b:f0:6c:00:01\n/);
    const spine1 = lab!.vtysh('spine1', 'show running-config');
    expect(spine1).toContain('  advertise-default-gw');
    expect(spine1).toContain('vrf crb1\n vni 20001\nexit-vrf');
  });

  test('4-byte overlay AS: the VRF instance keeps its <AS>:<L3VNI> route targets', () => {
    const leaf3 = lab!.vtysh('a4leaf3', 'show running-config');
    expect(leaf3).toContain('router bgp 4210000000 vrf erb1');
    expect(leaf3).toContain('  route-target import 4210000000:20002\n');
  });

  test('a broken line would be caught (the check can fail)', () => {
    const r = lab!.loadConfig('leaf1', 'router bgp 64512\n address-family l2vpn evpn\n  vni 10100\n   route-target import nonsense\n  exit-vni\n exit-address-family\nexit\n');
    expect(r.ok).toBe(false);
  });
});
