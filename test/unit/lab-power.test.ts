// `lab power` / `lab replace` refusals that need no root and no namespace: a vm-backend lab (one
// line saying so), an unknown lab or device, a bad or duplicate --serial. The real power cycle
// and replacement run in test/lab/rma-twin.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { powerOff, powerOn, replaceDevice } from '../../src/lab/power';
import { LabPaths, writeRecord } from '../../src/lab/state';
import { validateTopology } from '../../src/lab/topology';

describe('lab power / replace refusals', () => {
  let root: string;
  const topo = (name: string) => validateTopology({
    name, devices: [{ name: 'leaf1', serial: 'S1', profile: 'frr-switch' }, { name: 'leaf2', serial: 'S2', profile: 'frr-switch' }],
    links: [['leaf1:swp1', 'leaf2:swp1']], management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  });
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'rm-power-'));
    writeRecord(new LabPaths('rmvm', root), { name: 'rmvm', backend: 'vm', createdAt: '', preconfigured: false, topology: topo('rmvm'), managementIps: {} });
    writeRecord(new LabPaths('rmns', root), { name: 'rmns', backend: 'netns', createdAt: '', preconfigured: false, topology: topo('rmns'), managementIps: {} });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('a vm lab is refused in one line', async () => {
    for (const p of [powerOff('rmvm', 'leaf1', { root }), powerOn('rmvm', 'leaf1', { root }), replaceDevice('rmvm', 'leaf1', 'NEW1', { root })]) {
      await expect(p).rejects.toThrow(/^lab rmvm: power and replace work on netns labs only \(this one is vm\); the vm backend does not carry them yet$/);
    }
  });
  test('unknown lab, unknown device, bad or taken serial', async () => {
    await expect(powerOff('nolab', 'leaf1', { root })).rejects.toThrow(/^lab nolab: no such lab under /);
    await expect(powerOn('rmns', 'leaf9', { root })).rejects.toThrow('lab rmns: no device "leaf9" (devices: leaf1, leaf2)');
    await expect(replaceDevice('rmns', 'leaf1', 'a b', { root })).rejects.toThrow(/^--serial "a b": 1-64 of/);
    await expect(replaceDevice('rmns', 'leaf1', 'S1', { root })).rejects.toThrow("--serial S1 is leaf1's serial now: a replacement has another");
    await expect(replaceDevice('rmns', 'leaf1', 'S2', { root })).rejects.toThrow('--serial S2 belongs to leaf2 in lab rmns');
  });
});
