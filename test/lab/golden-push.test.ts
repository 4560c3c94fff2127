// The service's own rendered FRR configs (test/golden/dc1-frr, from examples/dc1-frr.yaml) pushed
// into a twin of the same fabric through the device agents, the way the service pushes: lock,
// edit-config, validate, commit confirmed, confirming commit. Every underlay and overlay session
// comes up; a later change to one neighbor flaps no other session.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { describeIf } from '../helpers/env';
import { netnsBackend } from '../../src/lab/netns';
import { validateTopology } from '../../src/lab/topology';
import { parseFrrConf } from '../../src/lab/agent/frrconf';
import { NetconfClient } from '../../src/netconf/client';
import { labName, tmpRoot, relay, sh, waitUntil, within, namespaces, type Relay } from './helpers';

jest.setTimeout(300_000);

const d = describeIf({ root: true, commands: ['/usr/lib/frr/zebra', 'vtysh', 'lldpd', 'snmpd'] });

const REPO = join(__dirname, '..', '..');
const LAB = labName();
const ROOT = tmpRoot();
const GOLDEN = join(REPO, 'test', 'golden', 'dc1-frr');

const fabric = parseYaml(readFileSync(join(REPO, 'examples', 'dc1-frr.yaml'), 'utf8')) as {
  devices: { name: string; serial: string; profile: string }[];
  links: string[][];
};
const topo = validateTopology({
  name: LAB,
  devices: fabric.devices.map((x) => ({ name: x.name, serial: x.serial, profile: x.profile })),
  links: fabric.links,
  management: { cidr: '10.0.0.0/24', gateway: '10.0.0.1' },
  credentials: { username: 'admin', password: 's3cret' },
  snmp: { community: 'fabric-ro' },
});

const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const golden = (dev: string): string => readFileSync(join(GOLDEN, `${dev}.frr.conf`), 'utf8');

/** Sessions the golden configs define: activated neighbors per address family. */
function expectedSessions(): { ipv4: number; evpn: number } {
  let ipv4 = 0;
  let evpn = 0;
  for (const dev of topo.devices) {
    for (const top of parseFrrConf(golden(dev.name))) {
      if (!top.line.startsWith('router bgp')) continue;
      for (const af of top.children) {
        const n = af.children.filter((c) => /^neighbor \S+ activate$/.test(c.line)).length;
        if (af.line === 'address-family ipv4 unicast') ipv4 += n;
        if (af.line === 'address-family l2vpn evpn') evpn += n;
      }
    }
  }
  return { ipv4, evpn };
}

type Peers = Record<string, { state?: string }>;
async function sessions(): Promise<{ ipv4: string[]; evpn: string[] }> {
  const out = { ipv4: [] as string[], evpn: [] as string[] };
  for (const dev of topo.devices) {
    const r = await sh(['vtysh', '-N', `${LAB}-${dev.name}`, '-c', 'show bgp summary json', '-c', 'show bgp l2vpn evpn summary json']);
    // two JSON documents back to back
    const docs = r.stdout.replace(/}\s*{/, '}\u0000{').split('\u0000').map((x) => JSON.parse(x) as Record<string, unknown>);
    const v4 = ((docs[0].ipv4Unicast as { peers?: Peers } | undefined)?.peers) ?? {};
    const ev = ((docs[1] as { peers?: Peers }).peers) ?? {};
    for (const [p, s] of Object.entries(v4)) out.ipv4.push(`${dev.name}>${p}:${s.state}`);
    for (const [p, s] of Object.entries(ev)) out.evpn.push(`${dev.name}>${p}:${s.state}`);
  }
  return out;
}

async function established(dev: string): Promise<Record<string, number>> {
  const r = await sh(['vtysh', '-N', `${LAB}-${dev}`, '-c', 'show bgp neighbors json']);
  const j = JSON.parse(r.stdout) as Record<string, { connectionsEstablished?: number }>;
  return Object.fromEntries(Object.entries(j).map(([p, v]) => [p, v.connectionsEstablished ?? 0]));
}

d('golden FRR configs pushed into a twin of the same fabric', () => {
  const relays: Relay[] = [];
  const clients = new Map<string, NetconfClient>();

  beforeAll(async () => {
    const r = await netnsBackend.up(topo, { preconfigured: true, root: ROOT, timeoutSeconds: 180 });
    for (const dev of topo.devices) {
      const rl = await relay(LAB, r.managementIps[dev.name], 830);
      relays.push(rl);
      clients.set(dev.name, await NetconfClient.connect({ host: '127.0.0.1', port: rl.port, deviceId: dev.name, username: 'admin', password: 's3cret', connectTimeoutMs: 20_000 }));
    }
  });

  afterAll(async () => {
    for (const c of clients.values()) await within(c.close().catch(() => undefined), 3000);
    for (const r of relays) await within(r.close().catch(() => undefined), 3000);
    await netnsBackend.down(LAB, { root: ROOT });
    expect((await namespaces()).filter((n) => n.startsWith(`${LAB}-`))).toEqual([]);
    rmSync(ROOT, { recursive: true, force: true });
  });

  test('every underlay and overlay session of the rendered configs comes up', async () => {
    await Promise.all(topo.devices.map(async (dev) => {
      const c = clients.get(dev.name)!;
      await c.lock('candidate');
      await c.editConfig({ target: 'candidate', config: `<frr xmlns="urn:fabric:frr"><frr-conf>${esc(golden(dev.name))}</frr-conf><interfaces></interfaces></frr>`, defaultOperation: 'replace' });
      await c.validate('candidate');
      await c.commit({ confirmed: true, confirmTimeout: 120 });
      await c.commit();
      await c.unlock('candidate');
    }));
    const want = expectedSessions();
    expect(want.ipv4).toBe(2 * topo.links.length);
    const got = await waitUntil('all sessions Established', async () => {
      const s = await sessions();
      const ok = s.ipv4.length === want.ipv4 && s.evpn.length === want.evpn && [...s.ipv4, ...s.evpn].every((x) => x.endsWith(':Established'));
      return ok ? s : undefined;
    }, 120_000, 1000);
    expect(got.ipv4).toHaveLength(want.ipv4);
    expect(got.evpn).toHaveLength(want.evpn);
    // BFD sessions up too (bfdd runs; the profile is applied)
    const bfd = JSON.parse((await sh(['vtysh', '-N', `${LAB}-leaf1`, '-c', 'show bfd peers json'])).stdout) as { peer: string; status: string }[];
    expect(bfd.map((b) => `${b.peer}:${b.status}`).sort()).toEqual(['10.254.0.0:up', '10.254.0.8:up']);
  });

  test('changing one neighbor re-applies the config without flapping the other sessions', async () => {
    const before = await established('leaf1');
    const changed = golden('leaf1').replace(' neighbor 10.254.0.8 description spine2\n', ' neighbor 10.254.0.8 description spine2-changed\n');
    expect(changed).not.toBe(golden('leaf1'));
    const c = clients.get('leaf1')!;
    await c.editConfig({ target: 'candidate', config: `<frr xmlns="urn:fabric:frr"><frr-conf>${esc(changed)}</frr-conf></frr>` });
    await c.commit();
    const run = (await sh(['vtysh', '-N', `${LAB}-leaf1`, '-c', 'show running-config'])).stdout;
    expect(run).toContain('neighbor 10.254.0.8 description spine2-changed');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await established('leaf1')).toEqual(before);
    const s = await sessions();
    expect([...s.ipv4, ...s.evpn].filter((x) => !x.endsWith(':Established'))).toEqual([]);
  });
});
