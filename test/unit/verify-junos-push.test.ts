// The Junos side of push + verify against the project's NETCONF server core in Junos mode (on
// 127.0.0.1, port 0): the rendered __fabric_* groups loaded with load-configuration, a stale
// service-owned group deleted, a group the operator owns kept, commit-configuration confirmed +
// confirm, verify through get-bgp-summary-information / get-bfd-session-information /
// get-route-information (replies recorded from the Junos XML API shape), and the drift compare
// (running groups vs rendered) empty afterwards.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

const parseYaml = (text: string): any => load(text);
import { parseFabricFile } from '../../src/domain/parse';
import { allocate } from '../../src/intent/allocate';
import { compileFabric } from '../../src/intent/compile';
import { renderDevice } from '../../src/platforms';
import { NetconfClient } from '../../src/netconf/client';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type NetconfListener } from '../../src/lab/netconf-server';
import { pushConfig } from '../../src/netconf/transaction';
import { comparableIntended, diffFiles, junosLoad, readRunning } from '../../src/jobs/push';
import { checkDevice, readOperState } from '../../src/jobs/verify';
import { filesFromCommit } from '../../src/jobs/rollback';
import { factsFrom } from '../../src/discovery/facts';
import { platformOfSession } from '../../src/platforms';

const file = parseFabricFile(parseYaml(readFileSync(join(__dirname, '..', '..', 'examples', 'dc1-junos.yaml'), 'utf8')));
const plans = compileFabric(file, allocate(file));
const leaf1 = plans.find((p) => p.name === 'leaf1')!;
const loopbacks = Object.fromEntries(plans.map((p) => [p.name, p.loopback]));

function bgpReply(spine2State: string): string {
  const peer = (a: string, st: string, rib: string) =>
    `<bgp-peer><peer-address>${a}+179</peer-address><peer-state>${st}</peer-state>${st === 'Established' ? `<bgp-rib><name>${rib}</name></bgp-rib>` : ''}</bgp-peer>`;
  const u = leaf1.underlay.neighbors;
  const o = leaf1.overlay!.neighbors;
  return `<bgp-information xmlns="http://xml.juniper.net/junos/21.4R0/junos-routing">${peer(u[0].address, 'Established', 'inet.0')}${peer(u[1].address, spine2State, 'inet.0')}` +
    `${peer(o[0].address, 'Established', 'bgp.evpn.0')}${peer(o[1].address, 'Established', 'bgp.evpn.0')}</bgp-information>`;
}

describe('Junos push + verify against the server core in Junos mode', () => {
  let server: NetconfServer;
  let listener: NetconfListener;
  let dev: NetconfDevice;
  let spine2 = 'Active';
  const connect = () => NetconfClient.connect({ host: '127.0.0.1', port: listener.port, deviceId: 'leaf1', username: 'admin', password: 'pw' });

  beforeAll(async () => {
    server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'pw' }]) });
    dev = new NetconfDevice({
      id: 'leaf1', junos: true,
      facts: { hostname: 'leaf1', model: 'qfx5110-48s-4c', serial: 'JN0001', osVersion: '21.4R3' },
      running: '<configuration><groups><name>__fabric_old_feature__</name><system><host-name>old</host-name></system></groups>' +
        '<groups><name>operator-snmp</name><snmp><location>rack 4</location></snmp></groups>' +
        '<apply-groups>__fabric_old_feature__</apply-groups><apply-groups>operator-snmp</apply-groups></configuration>',
    });
    dev.registerRpc('get-bgp-summary-information', () => ({ xml: bgpReply(spine2) }));
    dev.registerRpc('get-bfd-session-information', () => ({
      xml: `<bfd-session-information>${leaf1.underlay.neighbors.map((n) => `<bfd-session><session-neighbor>${n.address}</session-neighbor><session-state>Up</session-state></bfd-session>`).join('')}</bfd-session-information>`,
    }));
    dev.registerRpc('get-route-information', () => ({
      xml: `<route-information><route-table><table-name>inet.0</table-name>${Object.values(loopbacks).map((a) => `<rt><rt-destination>${a}/32</rt-destination></rt>`).join('')}</route-table></route-information>`,
    }));
    listener = await server.listen(dev, { host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await listener?.close();
    await server?.close();
    dev?.dispose();
  });

  test('the hello names the Junos platform; discovery reads its facts the Junos way', async () => {
    const c = await connect();
    try {
      expect(platformOfSession(c).name).toBe('junos');
      expect(await factsFrom(c)).toMatchObject({ hostname: 'leaf1', vendor: 'Juniper', model: 'qfx5110-48s-4c', serial: 'JN0001', osVersion: '21.4R3' });
    } finally {
      await c.close();
    }
  });

  test('verify fails while spine2 is down and rolls back; then passes, the stale group is gone, drift empty', async () => {
    const files = renderDevice(leaf1).files;
    const intended = comparableIntended('leaf1', 'junos', files);
    const before = dev.running;

    const c1 = await connect();
    expect(c1.isJunos).toBe(true);
    const verify = async (c: NetconfClient) => {
      const r = checkDevice({ plan: leaf1, state: await readOperState(c, 'junos'), loopbacks });
      if (!r.ok) throw new Error(r.failures.join('; '));
    };
    await expect(pushConfig({ client: c1, platform: 'junos', load: (c) => junosLoad(c, 'leaf1', files), verify, confirmTimeoutSeconds: 120 }))
      .rejects.toThrow(/verify failed: BGP [\d.]+ \(spine2 on \S+\) is Active, not Established; rolled back \(junos-rollback\)/);
    expect(dev.running).toBe(before);

    spine2 = 'Established';
    const c2 = await connect();
    const r = await pushConfig({ client: c2, platform: 'junos', load: (c) => junosLoad(c, 'leaf1', files), verify, confirmTimeoutSeconds: 120 });
    expect(r.committed).toBe(true);
    expect(r.diff).toContain('__fabric_old_feature__');
    expect(dev.running).not.toContain('__fabric_old_feature__');
    expect(dev.running).toContain('<name>operator-snmp</name>');
    expect(dev.running).toContain('__fabric_ip_clos__');
    // apply-groups: the stale one deleted, the operator's kept, the service's in rendered order
    expect(dev.running.match(/<apply-groups>[^<]+/g)).toEqual(['<apply-groups>operator-snmp', ...files['leaf1.xml'].match(/<apply-groups>[^<]+/g)!]);

    const c3 = await connect();
    try {
      const running = await readRunning(c3, 'leaf1', 'junos');
      expect(running['leaf1.groups']).toContain('<name>__fabric_basic__</name>');
      expect(running['leaf1.groups']).not.toContain('operator-snmp');
      expect(diffFiles(running, intended)).toBe('');
    } finally {
      await c3.close();
    }
  });

  test('config-history rollback: a later push drops a group; the recorded version goes back and compares equal', async () => {
    spine2 = 'Established';
    const verify = async (c: NetconfClient) => {
      const r = checkDevice({ plan: leaf1, state: await readOperState(c, 'junos'), loopbacks });
      if (!r.ok) throw new Error(r.failures.join('; '));
    };
    const push = async (files: Record<string, string>) => pushConfig({ client: await connect(), platform: 'junos', load: (c) => junosLoad(c, 'leaf1', files), verify, confirmTimeoutSeconds: 120 });
    const running = async () => {
      const c = await connect();
      try { return await readRunning(c, 'leaf1', 'junos'); } finally { await c.close(); }
    };
    const v1 = renderDevice(leaf1).files;
    await push(v1);
    // what push.ts records in the history for this commit (one file: its text)
    const recorded = comparableIntended('leaf1', 'junos', v1)['leaf1.groups'];
    expect(diffFiles(await running(), { 'leaf1.groups': recorded })).toBe('');

    // v2: the EVPN overlay group and its apply-groups gone (as when a role loses the overlay)
    const xml2 = v1['leaf1.xml'].replace(/ *<groups replace="replace">\s*<name>__fabric_overlay_evpn__<\/name>[\s\S]*?<\/groups>\n/, '').replace(/ *<apply-groups>__fabric_overlay_evpn__<\/apply-groups>\n/, '');
    expect(xml2).not.toContain('__fabric_overlay_evpn__');
    expect((await push({ 'leaf1.xml': xml2 })).committed).toBe(true);
    expect(dev.running).not.toContain('__fabric_overlay_evpn__');

    // rollback to v1 from its history text: the group and its apply-groups are back, in order
    const back = filesFromCommit('leaf1', { text: recorded, platform: 'junos' });
    const r = await push(back);
    expect(r.committed).toBe(true);
    expect(r.diff).toContain('__fabric_overlay_evpn__');
    expect(diffFiles(await running(), { 'leaf1.groups': recorded })).toBe('');
    expect(dev.running.match(/<apply-groups>[^<]+/g)).toEqual(['<apply-groups>operator-snmp', ...v1['leaf1.xml'].match(/<apply-groups>[^<]+/g)!]);
    expect(dev.running).toContain('<name>operator-snmp</name>');
  });
});
