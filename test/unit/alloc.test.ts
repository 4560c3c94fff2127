import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FabricError } from '../../src/domain/errors';
import { parseFabricFile } from '../../src/domain/parse';
import { FabricFile, linkKey } from '../../src/domain/types';
import { allocate, emptyAllocations } from '../../src/intent/allocate';

const ROOT = join(__dirname, '..', '..');
const file = (): FabricFile => parseFabricFile(readFileSync(join(ROOT, 'examples', 'dc1-frr.yaml'), 'utf8'));

function exhaustion(f: FabricFile): FabricError {
  try { allocate(f, emptyAllocations()); } catch (e) { expect(e).toBeInstanceOf(FabricError); return e as FabricError; }
  throw new Error('expected exhaustion');
}

describe('allocate', () => {
  test('offline: file order, first host address first, first link end takes the lower address', () => {
    const a = allocate(file(), emptyAllocations());
    expect(a.loopbacks).toEqual({
      spine1: '10.255.0.1', spine2: '10.255.0.2', leaf1: '10.255.0.3', leaf2: '10.255.0.4', leaf3: '10.255.0.5', leaf4: '10.255.0.6',
    });
    expect(a.asns).toEqual({ spine1: 64601, spine2: 64602, leaf1: 64603, leaf2: 64604, leaf3: 64605, leaf4: 64606 });
    expect(Object.values(a.links)).toEqual([
      '10.254.0.0/31', '10.254.0.2/31', '10.254.0.4/31', '10.254.0.6/31',
      '10.254.0.8/31', '10.254.0.10/31', '10.254.0.12/31', '10.254.0.14/31',
    ]);
    expect(a.links['leaf1:swp51--spine1:swp1']).toBe('10.254.0.0/31');
  });

  test('deterministic: same input, same record (values and key order)', () => {
    expect(JSON.stringify(allocate(file(), emptyAllocations()))).toBe(JSON.stringify(allocate(file(), emptyAllocations())));
  });

  test('re-running on its own record changes nothing', () => {
    const a = allocate(file(), emptyAllocations());
    expect(allocate(file(), a)).toEqual(a);
  });

  test('leaf-leaf and spine-spine links are not addressed', () => {
    const f = file();
    f.links.push({ a: { device: 'leaf1', port: 'swp1' }, b: { device: 'leaf2', port: 'swp1' } });
    f.links.push({ a: { device: 'spine1', port: 'swp30' }, b: { device: 'spine2', port: 'swp30' } });
    const a = allocate(f, emptyAllocations());
    expect(Object.keys(a.links)).toHaveLength(8);
    expect(a.links['leaf1:swp1--leaf2:swp1']).toBeUndefined();
  });

  test('gateway links are addressed (spine-gateway, leaf-gateway)', () => {
    const f = file();
    f.devices.push({ name: 'gw1', profile: 'frr-switch', physicalRole: 'gateway', roles: ['DC-Gateway'] });
    f.links.push({ a: { device: 'spine1', port: 'swp40' }, b: { device: 'gw1', port: 'swp1' } });
    f.links.push({ a: { device: 'gw1', port: 'swp2' }, b: { device: 'leaf4', port: 'swp40' } });
    const a = allocate(f, emptyAllocations());
    expect(a.links['gw1:swp1--spine1:swp40']).toBe('10.254.0.16/31');
    expect(a.links['gw1:swp2--leaf4:swp40']).toBe('10.254.0.18/31');
  });

  test('adding a device and its links (listed first!) never renumbers the others', () => {
    const before = allocate(file(), emptyAllocations());
    const f = file();
    // New leaf inserted at the top of the file: offline it would shift everything; with a record it does not.
    f.devices.unshift({ name: 'leaf5', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    f.links.unshift({ a: { device: 'spine1', port: 'swp5' }, b: { device: 'leaf5', port: 'swp51' } },
      { a: { device: 'spine2', port: 'swp5' }, b: { device: 'leaf5', port: 'swp52' } });
    const after = allocate(f, before);
    for (const [d, ip] of Object.entries(before.loopbacks)) expect(after.loopbacks[d]).toBe(ip);
    for (const [d, asn] of Object.entries(before.asns)) expect(after.asns[d]).toBe(asn);
    for (const [k, net] of Object.entries(before.links)) expect(after.links[k]).toBe(net);
    expect(after.loopbacks.leaf5).toBe('10.255.0.7');
    expect(after.asns.leaf5).toBe(64607);
    expect(after.links['leaf5:swp51--spine1:swp5']).toBe('10.254.0.16/31');
    expect(after.links['leaf5:swp52--spine2:swp5']).toBe('10.254.0.18/31');
  });

  test('removing a device frees its values without renumbering others; the next new device takes the lowest free', () => {
    const before = allocate(file(), emptyAllocations());
    const f = file();
    f.devices = f.devices.filter((d) => d.name !== 'leaf2');
    f.links = f.links.filter((l) => l.b.device !== 'leaf2');
    const after = allocate(f, before);
    expect(after.loopbacks.leaf2).toBeUndefined();
    expect(after.asns.leaf2).toBeUndefined();
    expect(Object.keys(after.links)).toHaveLength(6);
    for (const d of ['spine1', 'spine2', 'leaf1', 'leaf3', 'leaf4']) {
      expect(after.loopbacks[d]).toBe(before.loopbacks[d]);
      expect(after.asns[d]).toBe(before.asns[d]);
    }
    for (const k of Object.keys(after.links)) expect(after.links[k]).toBe(before.links[k]);
    // A new device is given leaf2's old (lowest free) values.
    f.devices.push({ name: 'leaf9', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    f.links.push({ a: { device: 'spine1', port: 'swp9' }, b: { device: 'leaf9', port: 'swp51' } });
    const again = allocate(f, after);
    expect(again.loopbacks.leaf9).toBe('10.255.0.4');
    expect(again.asns.leaf9).toBe(64604);
    expect(again.links['leaf9:swp51--spine1:swp9']).toBe('10.254.0.2/31');
  });

  test('the link key does not depend on which end is listed first', () => {
    const f = file();
    const l = f.links[0];
    expect(linkKey(l)).toBe(linkKey({ a: l.b, b: l.a }));
  });

  test('existing values outside the pools, or taken twice, are replaced by free ones', () => {
    const existing = {
      loopbacks: { spine1: '192.168.9.9', spine2: '10.255.0.3', leaf1: '10.255.0.3' },
      asns: { spine1: 65000, spine2: 64512 },
      links: { 'leaf1:swp51--spine1:swp1': '10.254.0.5/30' },
    };
    const a = allocate(file(), existing);
    expect(a.loopbacks.spine1).toBe('10.255.0.1');
    expect(a.loopbacks.spine2).toBe('10.255.0.3'); // first owner keeps it
    expect(a.loopbacks.leaf1).toBe('10.255.0.2');
    expect(a.asns.spine1).toBe(64601);
    expect(a.asns.spine2).toBe(64602); // the overlay ASN is never an underlay ASN
    expect(a.links['leaf1:swp51--spine1:swp1']).toBe('10.254.0.0/31');
  });

  test('several pools are used in order; /31 and /32 pools use every address', () => {
    const f = file();
    f.fabric.namespaces.loopback = ['10.255.0.0/31', '10.255.1.8/32', '10.255.2.0/29'];
    const a = allocate(f, emptyAllocations());
    expect(Object.values(a.loopbacks)).toEqual(['10.255.0.0', '10.255.0.1', '10.255.1.8', '10.255.2.1', '10.255.2.2', '10.255.2.3']);
    f.fabric.namespaces.asn = [{ min: 10, max: 11 }, { min: 4200000000, max: 4200000010 }];
    expect(Object.values(allocate(f, emptyAllocations()).asns)).toEqual([10, 11, 4200000000, 4200000001, 4200000002, 4200000003]);
  });

  test('exhaustion names the pool, its size and how many were needed', () => {
    let f = file();
    f.fabric.namespaces.loopback = ['10.255.0.0/30'];
    let e = exhaustion(f);
    expect(e.path).toBe('fabric.namespaces.loopback');
    expect(e.message).toBe('fabric.namespaces.loopback: pool exhausted: 10.255.0.0/30 holds 2 loopback addresses, 6 devices need one each');
    f = file();
    f.fabric.namespaces.fabric = ['10.254.0.0/29'];
    e = exhaustion(f);
    expect(e.message).toBe('fabric.namespaces.fabric: pool exhausted: 10.254.0.0/29 holds 4 /31 subnets, 8 addressed links need one each');
    f = file();
    f.fabric.namespaces.asn = [{ min: 64601, max: 64603 }];
    e = exhaustion(f);
    expect(e.message).toBe('fabric.namespaces.asn: pool exhausted: 64601..64603 holds 3 ASNs, 6 devices need one each');
  });

  test('exhaustion also counts what existing entries hold', () => {
    const f = file();
    f.fabric.namespaces.loopback = ['10.255.0.0/29']; // 6 hosts: exactly enough
    const a = allocate(f, emptyAllocations());
    f.devices.push({ name: 'leaf5', profile: 'frr-switch', physicalRole: 'leaf', roles: ['CRB-Access'] });
    expect(() => allocate(f, a)).toThrow('fabric.namespaces.loopback: pool exhausted: 10.255.0.0/29 holds 6 loopback addresses, 7 devices need one each');
  });
});
