// The simulator's SNMP agents answer our discovery client: system group and LLDP-MIB.
import { simTopology, simLinkKeys } from '../../src/lab/sim/topology';
import { startSnmpAgent, type SimSnmpAgent } from '../../src/lab/sim/snmp-agent';
import { readDevice, SnmpDevice } from '../../src/discovery/snmp';
import { buildTopology } from '../../src/discovery/topology';

const block = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 64) * 4}.0/22`;

describe('sim SNMP agents', () => {
  const devs = simTopology({ spines: 2, leaves: 3, cidr: block });
  const peers = new Map(devs.map((d) => [d.name, d]));
  const agents: SimSnmpAgent[] = [];
  const v3 = { user: 'fabric', authKey: 'authpass123', privKey: 'privpass123' };
  beforeAll(async () => {
    for (const d of devs) agents.push(await startSnmpAgent(d, peers, { community: 'fabric-ro', v3 }));
  });
  afterAll(async () => { await Promise.all(agents.map((a) => a.close())); });

  test('system group over v2c', async () => {
    const r = await readDevice(devs[0].address, { settings: { community: 'fabric-ro' } });
    expect(r.sysName).toBe('spine1');
    expect(r.sysObjectID).toBe('1.3.6.1.4.1.8072.3.2.10');
    expect(r.sysDescr).toBe('FRR-switch frr-switch serial SIM00001 version 8.4.4');
    expect(r.chassisId).toBe(devs[0].chassisId);
    expect(r.neighbors.map((n) => `${n.localPort}>${n.remoteSysName}:${n.remotePortId}`)).toEqual([
      'swp1>leaf1:swp51', 'swp2>leaf2:swp51', 'swp3>leaf3:swp51',
    ]);
  });

  test('LLDP over v3 authPriv (SHA/AES) from every device gives exactly the generated links', async () => {
    const read = await Promise.all(devs.map((d) => readDevice(d.address, { settings: { v3 } })));
    const topo = buildTopology(devs.map((d, i) => ({ name: d.name, physicalRole: d.role, chassisIds: [read[i].chassisId!], neighbors: read[i].neighbors })));
    expect(topo.anomalies).toEqual([]);
    expect(topo.links.map((l) => `${l.a.device}:${l.a.port}--${l.b.device}:${l.b.port}`)).toEqual(simLinkKeys(devs));
    expect(topo.links).toHaveLength(6);
  });

  test('a wrong community times out with a clear per-device error', async () => {
    const d = new SnmpDevice(devs[1].address, { settings: { community: 'wrong' }, timeoutMs: 200, retries: 0 });
    try {
      await expect(d.system()).rejects.toThrow(`snmp ${devs[1].address}: timeout after 200 ms x 1 (no answer: wrong address, community or v3 user?)`);
    } finally { d.close(); }
  });
});
