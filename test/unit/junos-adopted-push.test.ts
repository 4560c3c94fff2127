// An adopted Junos fabric that keeps its underlay (manageUnderlay false), pushed to the project's
// NETCONF server core in Junos mode (127.0.0.1, port 0) the way src/jobs/push.ts loads it (the
// platform's adoptedFiles over what runs, then junosLoad): the hand-written underlay outside the
// service's groups stays as it was, the EBGP EVPN overlay group arrives, a service underlay group
// from a time the fabric managed the underlay is kept as it runs, and the drift compare is empty.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planFabric } from '../../src/intent';
import { platformModule, renderDevice } from '../../src/platforms';
import { NetconfClient } from '../../src/netconf/client';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type NetconfListener } from '../../src/lab/netconf-server';
import { pushConfig } from '../../src/netconf/transaction';
import { diffFiles } from '../../src/jobs/push';

const fabric = (f: string) => readFileSync(join(__dirname, '..', 'golden', 'fabrics', f), 'utf8');
const leaf1 = (f: string) => planFabric(fabric(f)).plans.find((p) => p.name === 'leaf1')!;
const junos = platformModule('junos');

// leaf1's own underlay, written by hand (no groups): what the device runs before the service
const HAND = '<interfaces><interface><name>et-0/0/48</name><unit><name>0</name><family><inet><address><name>10.254.0.1/31</name></address></inet></family></unit></interface></interfaces>' +
  '<routing-options><router-id>10.255.0.2</router-id><autonomous-system><as-number>64602</as-number></autonomous-system></routing-options>' +
  '<protocols><bgp><group><name>hand-underlay</name><type>external</type><neighbor><name>10.254.0.0</name><description>NET-4711 spine1</description><peer-as>64601</peer-as></neighbor></group></bgp></protocols>';

describe('Junos adopted push (manageUnderlay false) against the server core', () => {
  let server: NetconfServer;
  const listeners: NetconfListener[] = [];
  const devices: NetconfDevice[] = [];

  beforeAll(() => {
    server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'pw' }]) });
  });
  afterAll(async () => {
    for (const l of listeners) await l.close();
    await server?.close();
    for (const d of devices) d.dispose();
  });

  async function pushAdopted(running: string): Promise<{ dev: NetconfDevice; diff: string; drift: string }> {
    const dev = new NetconfDevice({ id: 'leaf1', junos: true, facts: { hostname: 'leaf1', model: 'qfx5120-48y', serial: 'JN0002', osVersion: '23.4R1' }, running });
    devices.push(dev);
    const l = await server.listen(dev, { host: '127.0.0.1', port: 0 });
    listeners.push(l);
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: l.port, deviceId: 'leaf1', username: 'admin', password: 'pw' });
    const owned = renderDevice(leaf1('adopted-junos.yaml')).files;
    let files = owned;
    // as src/jobs/push.ts does under keepUnderlay
    const load = async (cl: NetconfClient) => {
      files = junos.adoptedFiles!('leaf1', await junos.readRunning(cl, 'leaf1'), owned);
      await junos.load(cl, 'leaf1', files);
    };
    const r = await pushConfig({ client: c, platform: 'junos', load, confirmTimeoutSeconds: 120 });
    expect(r.committed).toBe(true);
    const c2 = await NetconfClient.connect({ host: '127.0.0.1', port: l.port, deviceId: 'leaf1', username: 'admin', password: 'pw' });
    try {
      const drift = diffFiles(await junos.readRunning(c2, 'leaf1'), junos.comparableIntended('leaf1', files));
      return { dev, diff: r.diff, drift };
    } finally {
      await c2.close();
    }
  }

  test('a hand-written underlay: kept as it runs; the overlay group is EBGP multihop with peer-as; no drift', async () => {
    const { dev, drift } = await pushAdopted(`<configuration>${HAND}</configuration>`);
    for (const part of ['<name>hand-underlay</name>', '<description>NET-4711 spine1</description>', '<as-number>64602</as-number>', '<name>10.254.0.1/31</name>']) expect(dev.running).toContain(part);
    expect(dev.running).not.toContain('__fabric_ip_clos__');
    expect(dev.running).toMatch(/<name>overlay<\/name>\s*<type>external<\/type>\s*<multihop>/);
    expect(dev.running).toContain('<peer-as>64601</peer-as>');
    expect(drift).toBe('');
  });

  test('the service\'s own underlay group from before (manageUnderlay was true) is kept, not deleted', async () => {
    const managed = renderDevice(leaf1('adopted-junos-managed.yaml')).files['leaf1.xml'];
    const ipClos = managed.slice(managed.indexOf('  <groups replace="replace">\n    <name>__fabric_ip_clos__</name>'), managed.indexOf('</groups>', managed.indexOf('<name>__fabric_ip_clos__</name>')) + '</groups>'.length)
      .replace('<groups replace="replace">', '<groups>');
    expect(ipClos).toContain('<name>__fabric_ip_clos__</name>');
    const { dev, drift } = await pushAdopted(`<configuration>${ipClos}<apply-groups>__fabric_ip_clos__</apply-groups></configuration>`);
    expect(dev.running).toContain('<name>__fabric_ip_clos__</name>');
    expect(dev.running).toContain('<apply-groups>__fabric_ip_clos__</apply-groups>');
    expect(dev.running).toContain('<name>FABRIC-UNDERLAY-EXPORT</name>');
    expect(drift).toBe('');
  });
});
