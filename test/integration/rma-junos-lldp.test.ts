// The RMA cabling check's reader for Junos over a real NETCONF session (the server core in its
// Junos flavour answering get-lldp-neighbors-information with a recorded-shape reply): the
// platform the hello names picks the RPC reader, the reply parses, the stored links match.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers } from '../../src/lab/netconf-server';
import { NetconfClient } from '../../src/netconf/client';
import { platformOfSession } from '../../src/platforms';
import { lldpNeighbors } from '../../src/jobs/rma/job';
import { checkCabling } from '../../src/jobs/rma/cabling';

describe('RMA LLDP reader for Junos over NETCONF', () => {
  const server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'pw' }]) });
  const reply = readFileSync(join(__dirname, '..', 'fixtures', 'junos-lldp', 'qfx-interface-name.xml'), 'utf8');
  let dev: NetconfDevice;
  let port = 0;
  let asked = 0;
  beforeAll(async () => {
    dev = new NetconfDevice({ id: 'leaf1', junos: true, running: '<configuration/>', facts: { hostname: 'leaf1', model: 'qfx5120-48y', serial: 'WS1', osVersion: '21.4R3-S5.4' } });
    dev.registerRpc('get-lldp-neighbors-information', () => { asked++; return { xml: reply }; });
    port = (await server.listen(dev)).port;
  });
  afterAll(async () => { await server.close(); dev.dispose(); });

  test('the Junos session gets get-lldp-neighbors-information; the neighbours match the stored links', async () => {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port, username: 'admin', password: 'pw', deviceId: 'leaf1' });
    try {
      const platform = platformOfSession(c).name;
      expect(platform).toBe('junos');
      const seen = await lldpNeighbors(c, platform);
      expect(asked).toBe(1);
      expect(seen).toEqual([
        { localPort: 'xe-0/0/48', remoteSystem: 'spine1', remotePort: 'xe-0/0/1' },
        { localPort: 'xe-0/0/49', remoteSystem: 'spine2', remotePort: 'xe-0/0/1' },
      ]);
      const links = [
        { a: { device: 'spine1', port: 'xe-0/0/1' }, b: { device: 'leaf1', port: 'xe-0/0/48' } },
        { a: { device: 'spine2', port: 'xe-0/0/1' }, b: { device: 'leaf1', port: 'xe-0/0/49' } },
      ];
      expect(checkCabling('leaf1', links, seen)).toEqual([]);
      await expect(lldpNeighbors(c, 'toy')).rejects.toThrow(/no NETCONF LLDP reader for platform toy/);
    } finally { await c.close(); }
  });
});
