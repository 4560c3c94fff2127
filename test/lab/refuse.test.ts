// What the netns backend refuses, before it makes anything: topologies this kernel cannot carry
// (bonded or VLAN-tagged servers without bonding/802.1Q), --preconfigured without credentials,
// a lab that is already up, namespaces that belong to someone else.
import { rmSync } from 'node:fs';
import { describeIf } from '../helpers/env';
import { netnsBackend, LabError } from '../../src/lab/netns';
import { pickBackend } from '../../src/lab/backends';
import { kernelFeatures } from '../../src/lab/kernel';
import { validateTopology } from '../../src/lab/topology';
import { labName, tmpRoot, namespaces, sh } from './helpers';

jest.setTimeout(60_000);

const d = describeIf({ root: true });

const base = (name: string, servers: unknown[] = []): ReturnType<typeof validateTopology> => validateTopology({
  name,
  devices: [{ name: 'leaf1', profile: 'frr-switch', serial: 'R1' }, { name: 'leaf2', profile: 'frr-switch', serial: 'R2' }],
  links: [['leaf1:swp49', 'leaf2:swp49']],
  servers,
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
});

d('netns backend refusals', () => {
  const root = tmpRoot();
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('kernel probe finds bridge and vxlan and leaves no scratch namespace', async () => {
    const f = await kernelFeatures();
    expect(f.get('bridge')).toBe(true);
    expect(f.get('vxlan')).toBe(true);
    // the probe cleans up after itself
    expect((await namespaces()).filter((n) => n.startsWith('kprobe-'))).toEqual([]);
  });

  test('a bonded, VLAN-tagged server on a kernel without them: one clear line naming the vm backend, nothing made', async () => {
    const f = await kernelFeatures();
    const name = labName();
    const topo = base(name, [{ name: 'bms2', nics: ['leaf1:swp10', 'leaf2:swp10'], address: '10.10.0.12/24', vlan: 100 }]);
    if (f.get('bond') !== false || f.get('vlan') !== false) {
      expect(await netnsBackend.cannotCarry(topo)).toBeUndefined();
      return;
    }
    expect(await netnsBackend.cannotCarry(topo)).toBe('this kernel lacks bonding, 802.1Q VLANs (needed by bms2); use --backend vm');
    await expect(netnsBackend.up(topo, { root })).rejects.toThrow(new LabError(`lab ${name}: this kernel lacks bonding, 802.1Q VLANs (needed by bms2); use --backend vm`));
    await expect(pickBackend(topo, 'netns')).rejects.toThrow(`lab ${name}: netns backend refused: this kernel lacks bonding, 802.1Q VLANs (needed by bms2); use --backend vm`);
    expect((await namespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
  });

  test('a single untagged server NIC fits the netns backend', async () => {
    expect(await netnsBackend.cannotCarry(base(labName(), [{ name: 'bms1', nics: ['leaf1:swp10'], address: '10.10.0.11/24' }]))).toBeUndefined();
  });

  test('--preconfigured without credentials/snmp is refused before anything is made', async () => {
    const name = labName();
    await expect(netnsBackend.up(base(name), { root, preconfigured: true })).rejects.toThrow(`lab ${name}: --preconfigured needs credentials and snmp in the topology file`);
    expect((await namespaces()).filter((n) => n.startsWith(`${name}-`))).toEqual([]);
  });

  test('a namespace of the same name that is not the lab\'s is never touched', async () => {
    const name = labName();
    await sh(['ip', 'netns', 'add', `${name}-leaf2`]);
    try {
      await expect(netnsBackend.up(base(name), { root })).rejects.toThrow(`lab ${name}: namespaces already exist and are not this lab's: ${name}-leaf2`);
      // down of a lab that never came up: nothing recorded, so the foreign namespace stays
      await netnsBackend.down(name, { root });
      expect(await namespaces()).toContain(`${name}-leaf2`);
    } finally {
      await sh(['ip', 'netns', 'del', `${name}-leaf2`]);
    }
  });
});
