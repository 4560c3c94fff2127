// Adding and removing devices on a live fabric (issue 15), the pure parts: the removal
// refusals (409 reasons, which force lifts), the fabric without a device, and which devices'
// rendered configs change when a leaf is added or removed (exactly the leaf and its spines).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFabricFile } from '../../src/domain/parse';
import type { FabricFile } from '../../src/domain/types';
import { allocate, emptyAllocations } from '../../src/intent/allocate';
import { compileFabric } from '../../src/intent/compile';
import { changedPlans, peersAfterRemoval, removalRefusals, standingRefusals, withoutDevice } from '../../src/jobs/decommission/plan';

const file = (): FabricFile => parseFabricFile(readFileSync(join(__dirname, '..', '..', 'examples', 'dc1-frr.yaml'), 'utf8'));
const allActive = (f: FabricFile) => new Map(f.devices.map((d) => [d.name, 'active']));

describe('removal refusals', () => {
  test('a leaf cabled to managed spines: refused without force, allowed with it', () => {
    const f = file();
    const r = removalRefusals(f, allActive(f), 'leaf4');
    expect(r.map((x) => x.code)).toEqual(['cabled']);
    expect(r[0].message).toBe('device leaf4 is still cabled to managed peers spine1, spine2: delete those links first, or remove with force=true (its peers lose their sessions to it)');
    expect(standingRefusals(r, false)).toHaveLength(1);
    expect(standingRefusals(r, true)).toEqual([]);
  });

  test('links to peers that are not managed (planned, in RMA) do not count', () => {
    const f = file();
    const states = new Map([...allActive(f)].map(([n]) => [n, n.startsWith('spine') ? 'rma' : 'active']));
    expect(removalRefusals(f, states, 'leaf4')).toEqual([]);
    const uncabled = { ...f, links: f.links.filter((l) => l.a.device !== 'leaf4' && l.b.device !== 'leaf4') };
    expect(removalRefusals(uncabled, allActive(f), 'leaf4')).toEqual([]);
  });

  test('the last route reflector is refused even with force; one of two is only cabled', () => {
    const f = file();
    expect(removalRefusals(f, allActive(f), 'spine2').map((x) => x.code)).toEqual(['cabled']);
    const oneRr = { ...f, devices: f.devices.map((d) => (d.name === 'spine2' ? { ...d, roles: [] } : d)) };
    const r = removalRefusals(oneRr, allActive(f), 'spine1');
    expect(r.map((x) => x.code)).toEqual(['last-route-reflector', 'cabled']);
    expect(standingRefusals(r, true).map((x) => x.message)).toEqual(["device spine1 is the fabric's last route reflector: give another device the Route-Reflector role first"]);
  });

  test('a device with VPG ports or server NICs is refused even with force', () => {
    const f: FabricFile = {
      ...file(),
      virtualNetworks: [{ name: 'web', vni: 10010 }] as FabricFile['virtualNetworks'],
      servers: [{ name: 'bms1', nics: [{ device: 'leaf1', port: 'swp10' }] }],
      vpgs: [{ name: 'bms1', server: 'bms1', ports: [{ device: 'leaf1', port: 'swp10' }], bindings: [{ network: 'web', untagged: true }] }],
    };
    const r = standingRefusals(removalRefusals(f, allActive(f), 'leaf1'), true);
    expect(r.map((x) => x.message)).toEqual([
      'device leaf1 has ports in VPG bms1: move or delete the VPG first',
      'device leaf1 is cabled to server bms1: remove the server\'s NICs on it first',
    ]);
  });
});

describe('the fabric without a device', () => {
  test('its links and allocations are dropped, everyone else keeps theirs', () => {
    const f = file();
    const a = allocate(f, emptyAllocations());
    const rest = withoutDevice(f, a, 'leaf4');
    expect(rest.file.devices.map((d) => d.name)).not.toContain('leaf4');
    expect(rest.file.links.some((l) => l.a.device === 'leaf4' || l.b.device === 'leaf4')).toBe(false);
    expect(rest.allocations.loopbacks.leaf4).toBeUndefined();
    expect(rest.allocations.asns.leaf4).toBeUndefined();
    expect(Object.keys(rest.allocations.links)).toHaveLength(Object.keys(a.links).length - 2);
    for (const n of ['spine1', 'spine2', 'leaf1', 'leaf2', 'leaf3']) {
      expect(rest.allocations.loopbacks[n]).toBe(a.loopbacks[n]);
      expect(rest.allocations.asns[n]).toBe(a.asns[n]);
    }
    // freed: a fresh allocation of the smaller fabric plus a new leaf takes leaf4's loopback again
    const again = { ...rest.file, devices: [...rest.file.devices, { ...f.devices.find((d) => d.name === 'leaf4')!, name: 'leaf9', serial: 'SIM0109' }] };
    expect(allocate(again, rest.allocations).loopbacks.leaf9).toBe(a.loopbacks.leaf4);
  });

  test('removing a leaf changes exactly its spines (their sessions to it go), nothing else', () => {
    const f = file();
    const a = allocate(f, emptyAllocations());
    const peers = peersAfterRemoval(f, a, 'leaf4');
    expect(peers.map((p) => p.plan.name)).toEqual(['spine1', 'spine2']);
    for (const p of peers) {
      expect(p.plan.underlay.neighbors.some((n) => n.peerDevice === 'leaf4')).toBe(false);
      expect(p.files[`${p.plan.name}.frr.conf`]).not.toContain(a.loopbacks.leaf4);
    }
  });

  test('adding a leaf changes exactly the new leaf and its spines', () => {
    const f = file();
    const small = withoutDevice(f, allocate(f, emptyAllocations()), 'leaf4');
    const before = compileFabric(small.file, allocate(small.file, emptyAllocations()));
    const allocBefore = allocate(small.file, emptyAllocations());
    const after = compileFabric(f, allocate(f, allocBefore));
    const changed = changedPlans(before, after);
    expect(changed.map((c) => `${c.plan.name}${c.isNew ? ' (new)' : ''}`)).toEqual(['leaf4 (new)', 'spine1', 'spine2']);
  });
});
