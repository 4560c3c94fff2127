// Rules of the renderer beyond the golden files: what renders and what does not, errors that
// name the device and template, purity, escaping, the FRR section mechanism.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { planFabric } from '../../src/intent';
import { Renderer, RenderError, renderDevice } from '../../src/platforms';
import type { DevicePlan } from '../../src/domain/types';
import { REPO } from './golden';

const read = (f: string) => readFileSync(path.join(REPO, f), 'utf8');
const plansOf = (text: string) => planFabric(text).plans;
const byName = (plans: DevicePlan[], n: string) => plans.find((p) => p.name === n)!;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const groupsOf = (xml: string) => [...xml.matchAll(/<groups replace="replace">\s*<name>([^<]+)<\/name>/g)].map((m) => m[1]);
const applied = (xml: string) => [...xml.matchAll(/<apply-groups>([^<]+)<\/apply-groups>/g)].map((m) => m[1]);

describe('junos rendering', () => {
  const plans = plansOf(read('examples/dc1-junos.yaml'));

  test('a leaf gets one owned group per feature with content, each applied; empty features render nothing', () => {
    const leaf = byName(plans, 'leaf1');
    // CRB-Access names overlay_networking/lag/multi_homing too: no VN/VPG yet, so no group.
    expect(leaf.features).toEqual(expect.arrayContaining(['overlay_networking', 'overlay_lag', 'overlay_multi_homing']));
    const { platform, files } = renderDevice(leaf);
    expect(platform).toBe('junos');
    expect(Object.keys(files)).toEqual(['leaf1.xml']);
    const xml = files['leaf1.xml'];
    const want = ['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__', '__fabric_overlay_evpn__'];
    expect(groupsOf(xml)).toEqual(want);
    expect(applied(xml)).toEqual(want);
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml.startsWith('<configuration>\n')).toBe(true);
    expect(xml.trimEnd().endsWith('</configuration>')).toBe(true);
  });

  test('a route reflector keeps clients (with cluster) and fellow reflectors in separate groups', () => {
    const xml = renderDevice(byName(plans, 'spine1')).files['spine1.xml'];
    expect(groupsOf(xml)).toEqual(['__fabric_basic__', '__fabric_ip_clos__', '__fabric_overlay_bgp__']);
    const clients = /<name>overlay-clients<\/name>[\s\S]*?<\/group>/.exec(xml)![0];
    const peers = /<name>overlay<\/name>[\s\S]*?<\/group>/.exec(xml)![0];
    expect([...clients.matchAll(/<neighbor>\s*<name>([^<]+)/g)].map((m) => m[1])).toEqual(['10.255.0.3', '10.255.0.4', '10.255.0.5', '10.255.0.6']);
    expect(clients).toContain('<cluster>10.255.0.1</cluster>');
    expect([...peers.matchAll(/<neighbor>\s*<name>([^<]+)/g)].map((m) => m[1])).toEqual(['10.255.0.2']);
    expect(peers).not.toContain('<cluster>');
  });

  test('with an overlay: global AS is the overlay AS, underlay speaks the device ASN privately', () => {
    const leaf = byName(plans, 'leaf1');
    const xml = renderDevice(leaf).files['leaf1.xml'];
    expect(xml).toMatch(/<autonomous-system>\s*<as-number>64512<\/as-number>/);
    expect(xml).toMatch(new RegExp(`<local-as>\\s*<as-number>${leaf.asn}</as-number>\\s*<private/>\\s*<no-prepend-global-as/>\\s*</local-as>`));
    expect(xml).toContain('<vrf-target>\n        <community>target:64512:1</community>');
    expect(xml).toContain(`<rd-type>${leaf.loopback}:1</rd-type>`);
  });

  test('lean fabric: device ASN as global AS, no local-as, no overlay groups', () => {
    const leaf = byName(plansOf(read('test/golden/fabrics/lean-junos.yaml')), 'leaf1');
    const xml = renderDevice(leaf).files['leaf1.xml'];
    expect(groupsOf(xml)).toEqual(['__fabric_basic__', '__fabric_ip_clos__']);
    expect(xml).toMatch(new RegExp(`<autonomous-system>\\s*<as-number>${leaf.asn}</as-number>`));
    expect(xml).not.toContain('local-as');
  });

  test('text is XML-escaped; 4-byte overlay ASNs get the L route-target form', () => {
    const leaf = clone(byName(plans, 'leaf1'));
    leaf.hostname = 'a&b<c>';
    leaf.interfaces[0].description = 'to "x" & <y>';
    leaf.overlay!.asn = 4200000000;
    const xml = renderDevice(leaf).files['leaf1.xml'];
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<host-name>a&amp;b&lt;c&gt;</host-name>');
    expect(xml).toContain('<description>to &quot;x&quot; &amp; &lt;y&gt;</description>');
    expect(xml).toContain('<community>target:4200000000L:1</community>');
  });

  test('ntp, syslog and dns render only when set; BFD and graceful restart follow the settings', () => {
    const leaf = byName(plans, 'leaf1');
    const bare = renderDevice(leaf).files['leaf1.xml'];
    for (const s of ['<ntp>', '<syslog>', '<name-server>']) expect(bare).not.toContain(s);
    // BFD on: no graceful restart (issue 14 item 3), and see test/unit/vendor-junos.test.ts
    expect(bare).not.toContain('graceful-restart');
    expect(bare).toContain('<minimum-interval>');
    const p = clone(leaf);
    p.settings = { ...p.settings, ntp: ['10.0.0.5'], syslog: ['10.0.0.6'], dns: ['10.0.0.7', '10.0.0.8'], gracefulRestart: false };
    p.underlay.neighbors.forEach((n) => { n.bfd = false; });
    const xml = renderDevice(p).files['leaf1.xml'];
    expect(xml).toMatch(/<ntp>\s*<server>\s*<name>10\.0\.0\.5<\/name>/);
    expect(xml).toMatch(/<syslog>\s*<host>\s*<name>10\.0\.0\.6<\/name>/);
    expect([...xml.matchAll(/<name-server>\s*<name>([^<]+)/g)].map((m) => m[1])).toEqual(['10.0.0.7', '10.0.0.8']);
    expect(xml).not.toContain('graceful-restart');
    expect(xml).not.toContain('bfd-liveness-detection');
    // without BFD, graceful restart asked for is the global statement
    p.settings = { ...p.settings, gracefulRestart: true };
    expect(renderDevice(p).files['leaf1.xml']).toMatch(/<routing-options>\s*<graceful-restart\/>/);
  });
});

describe('frr rendering', () => {
  const plans = plansOf(read('examples/dc1-frr.yaml'));

  test('one .frr.conf per device, and .interfaces for the fabric ports\' MTU (issue 14 item 10)', () => {
    for (const p of plans) expect(Object.keys(renderDevice(p).files)).toEqual([`${p.name}.frr.conf`, `${p.name}.interfaces`]);
  });

  test('a leaf: overlay AS, underlay local-as replace-as, EVPN to both RRs, advertise-all-vni', () => {
    const leaf = byName(plans, 'leaf1');
    const conf = renderDevice(leaf).files['leaf1.frr.conf'];
    expect(conf).toContain('\nrouter bgp 64512\n');
    for (const n of leaf.underlay.neighbors) {
      expect(conf).toContain(` neighbor ${n.address} remote-as ${n.peerAsn}\n neighbor ${n.address} local-as ${leaf.asn} no-prepend replace-as\n`);
      expect(conf).toContain(`  neighbor ${n.address} activate\n`);
    }
    expect(conf).toContain(' neighbor 10.255.0.1 update-source 10.255.0.3\n');
    expect(conf).toContain(' address-family l2vpn evpn\n  neighbor 10.255.0.1 activate\n  neighbor 10.255.0.2 activate\n  advertise-all-vni\n exit-address-family\n');
    expect(conf).not.toContain('route-reflector-client');
    expect(conf).not.toContain('#@');
  });

  test('a route reflector: cluster id, clients marked, no advertise-all-vni (not a VTEP)', () => {
    const conf = renderDevice(byName(plans, 'spine1')).files['spine1.frr.conf'];
    expect(conf).toContain(' bgp cluster-id 10.255.0.1\n');
    expect((conf.match(/route-reflector-client/g) ?? []).length).toBe(4);
    expect(conf).not.toContain('neighbor 10.255.0.2 route-reflector-client');
    expect(conf).not.toContain('advertise-all-vni');
  });

  test('lean: router bgp <device ASN>, no local-as, no EVPN', () => {
    const leaf = byName(plansOf(read('test/golden/fabrics/lean-frr.yaml')), 'leaf1');
    const conf = renderDevice(leaf).files['leaf1.frr.conf'];
    expect(conf).toContain(`\nrouter bgp ${leaf.asn}\n`);
    expect(conf).not.toContain('local-as');
    expect(conf).not.toContain('l2vpn');
  });

  test('BFD off: no bfd block and no bfd neighbor lines', () => {
    const p = clone(byName(plans, 'leaf1'));
    p.underlay.neighbors.forEach((n) => { n.bfd = false; });
    const conf = renderDevice(p).files['leaf1.frr.conf'];
    expect(conf).not.toContain('bfd');
  });
});

describe('renderer rules', () => {
  const plans = plansOf(read('examples/dc1-frr.yaml'));

  test('pure: a frozen plan renders, twice the same', () => {
    const p = deepFreeze(clone(byName(plans, 'spine1')));
    expect(renderDevice(p)).toEqual(renderDevice(p));
  });

  test('a feature whose objects exist but has no template is an error naming device and template', () => {
    // The shipped templates cover every feature now: use a template dir that lacks one.
    const p = clone(byName(plans, 'leaf1'));
    p.virtualNetworks = [{ name: 'web', vni: 10010, vlan: 3000, routeTarget: 'target:64512:10010', rd: '10.255.0.3:13000', members: [] }];
    const scratch = mkdtempSync(path.join(tmpdir(), 'render-missing-'));
    try {
      mkdirSync(path.join(scratch, 'frr'));
      for (const f of ['_frr.conf.njk', '_interfaces.njk', 'basic.njk', 'ip_clos.njk', 'overlay_bgp.njk', 'overlay_evpn.njk']) {
        writeFileSync(path.join(scratch, 'frr', f), read(`templates/frr/${f}`));
      }
      const r = new Renderer(scratch);
      expect(() => r.render(p)).toThrow(RenderError);
      expect(() => r.render(p)).toThrow('device leaf1: feature overlay_networking has no template frr/overlay_networking.njk');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('overlay features render nothing on a device without overlay', () => {
    const p = clone(byName(plans, 'leaf1'));
    delete p.overlay;
    const conf = renderDevice(p).files['leaf1.frr.conf'];
    expect(conf).not.toContain('l2vpn');
    expect(conf).toContain(`\nrouter bgp ${p.asn}\n`);
  });

  test('a missing plan field fails loudly (throwOnUndefined) naming the template', () => {
    const p = clone(byName(plans, 'leaf1')) as Partial<DevicePlan>;
    delete p.routerId;
    expect(() => renderDevice(p as DevicePlan)).toThrow(/template frr\/ip_clos\.njk: .*undefined/i);
  });

  describe('FRR sections in a scratch template dir', () => {
    let dir: string;
    const plan = () => {
      const p = clone(byName(plans, 'leaf1'));
      p.features = ['basic', 'overlay_networking'];
      p.virtualNetworks = [{ name: 'web', vni: 10010, vlan: 3000, routeTarget: 'target:64512:10010', rd: '10.255.0.3:13000', members: [] }];
      return p;
    };
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'render-test-'));
      mkdirSync(path.join(dir, 'frr'));
      for (const f of ['_frr.conf.njk', '_interfaces.njk', 'basic.njk']) {
        writeFileSync(path.join(dir, 'frr', f), read(`templates/frr/${f}`));
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('an ifupdown section makes <device>.interfaces; sections gather across features', () => {
      writeFileSync(path.join(dir, 'frr', 'overlay_networking.njk'),
        '#@ ifupdown\n{% for v in p.virtualNetworks %}auto vni{{ v.vni }}\niface vni{{ v.vni }}\n    vxlan-id {{ v.vni }}\n{% endfor %}\n#@ af_evpn\n  advertise-svi-ip\n');
      const files = new Renderer(dir).render(plan()).files;
      expect(Object.keys(files).sort()).toEqual(['leaf1.frr.conf', 'leaf1.interfaces']);
      expect(files['leaf1.interfaces']).toBe('# leaf1: netdevs owned by the fabric service (ifupdown2)\nauto vni10010\niface vni10010\n    vxlan-id 10010\n');
      expect(files['leaf1.frr.conf']).toContain('router bgp 64512\n !\n address-family l2vpn evpn\n  advertise-svi-ip\n exit-address-family\nexit\n');
    });

    test('a template that renders only blanks contributes nothing', () => {
      writeFileSync(path.join(dir, 'frr', 'overlay_networking.njk'), '#@ ifupdown\n\n   \n#@ bgp\n');
      const files = new Renderer(dir).render(plan()).files;
      expect(Object.keys(files)).toEqual(['leaf1.frr.conf']);
      expect(files['leaf1.frr.conf']).not.toContain('router bgp');
    });

    test('unknown sections and text before the first section are errors', () => {
      writeFileSync(path.join(dir, 'frr', 'overlay_networking.njk'), '#@ nonsense\nx\n');
      expect(() => new Renderer(dir).render(plan())).toThrow('template frr/overlay_networking.njk: unknown section nonsense');
      writeFileSync(path.join(dir, 'frr', 'overlay_networking.njk'), 'stray\n#@ bgp\n');
      expect(() => new Renderer(dir).render(plan())).toThrow('template frr/overlay_networking.njk: text before the first #@ section line');
    });
  });
});
