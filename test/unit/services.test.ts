// Overlay services validation: every refusal, with its exact one-line message and path
// (`path | message`), on mutated copies of the services fabrics (test/golden/fabrics/services-*.yaml).
import { parseFabricFile, validateFabric, networkBindings, networkRouters, FabricError } from '../../src/domain';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { planFabric } from '../../src/intent';
import { Doc, base, problems, SERVICES_FRR, SERVICES_JUNOS } from './services-cases';

const REFUSALS: [string, (d: Doc) => void, string, string[]][] = [
  ['vn bad name', (d) => { d.virtualNetworks[0].name = 'we b'; }, SERVICES_FRR, [
    // The schema refuses the name at parse: the follow-on "unknown virtual network" lines are gone.
    "virtualNetworks[0].name | virtualNetworks[0] (we b).name: \"we b\" is not a valid name (letters, digits, \".\", \"_\", \"-\"; up to 63)",
  ]],
  ['vn dup name', (d) => { d.virtualNetworks[1].name = 'web'; }, SERVICES_FRR, [
    "virtualNetworks[1].name | virtualNetworks[1] (web).name: duplicate virtual network name \"web\" (also virtualNetworks[0])",
    "logicalRouters[0].networks[1] | logicalRouters[0] (crb1).networks[1]: unknown virtual network \"db\"",
    "vpgs[1].bindings[1].network | vpgs[1] (vpg2).bindings[1].network: unknown virtual network \"db\"",
  ]],
  ['vni 0', (d) => { d.virtualNetworks[0].vni = 0; }, SERVICES_FRR, [
    "virtualNetworks[0].vni | virtualNetworks[0] (web).vni: 0 is outside 1..16777214",
  ]],
  ['vni max+1', (d) => { d.virtualNetworks[0].vni = 16777215; }, SERVICES_FRR, [
    "virtualNetworks[0].vni | virtualNetworks[0] (web).vni: 16777215 is outside 1..16777214",
  ]],
  ['vni dup', (d) => { d.virtualNetworks[1].vni = 10100; }, SERVICES_FRR, [
    "virtualNetworks[1].vni | virtualNetworks[1] (db).vni: VNI 10100 is already used by virtualNetworks[0]",
  ]],
  ['vni not int', (d) => { d.virtualNetworks[1].vni = '10100'; }, SERVICES_FRR, [
    "virtualNetworks[1].vni | virtualNetworks[1].vni: expected an integer, got string \"10100\"",
  ]],
  ['vn unknown field', (d) => { d.virtualNetworks[1].vlan = 5; }, SERVICES_FRR, [
    "virtualNetworks[1].vlan | virtualNetworks[1].vlan: unknown field (allowed: name, vni, subnet, gateway)",
  ]],
  ['subnet bad', (d) => { d.virtualNetworks[0].subnet = '10.10.0.1/24'; }, SERVICES_FRR, [
    "virtualNetworks[0].subnet | virtualNetworks[0] (web).subnet: \"10.10.0.1/24\" has host bits set (did you mean 10.10.0.0/24?)",
  ]],
  ['subnet /31', (d) => { d.virtualNetworks[0].subnet = '10.10.0.0/31'; d.virtualNetworks[0].gateway = '10.10.0.1'; }, SERVICES_FRR, [
    "virtualNetworks[0].subnet | virtualNetworks[0] (web).subnet: 10.10.0.0/31 is too small for hosts and a gateway (at most /30)",
  ]],
  ['gw not ip', (d) => { d.virtualNetworks[0].gateway = 'x'; }, SERVICES_FRR, [
    "virtualNetworks[0].gateway | virtualNetworks[0] (web).gateway: \"x\" is not an IPv4 address",
  ]],
  ['gw no subnet', (d) => { delete d.virtualNetworks[0].subnet; }, SERVICES_FRR, [
    "virtualNetworks[0].gateway | virtualNetworks[0] (web).gateway: a gateway needs a subnet",
    "logicalRouters[0].networks[0] | logicalRouters[0] (crb1).networks[0]: network \"web\" needs a subnet and a gateway to be routed",
  ]],
  ['gw outside', (d) => { d.virtualNetworks[0].gateway = '10.11.0.1'; }, SERVICES_FRR, [
    "virtualNetworks[0].gateway | virtualNetworks[0] (web).gateway: 10.11.0.1 is outside 10.10.0.0/24",
  ]],
  ['gw network', (d) => { d.virtualNetworks[0].gateway = '10.10.0.0'; }, SERVICES_FRR, [
    "virtualNetworks[0].gateway | virtualNetworks[0] (web).gateway: 10.10.0.0 is the network address of 10.10.0.0/24",
  ]],
  ['gw broadcast', (d) => { d.virtualNetworks[0].gateway = '10.10.0.255'; }, SERVICES_FRR, [
    "virtualNetworks[0].gateway | virtualNetworks[0] (web).gateway: 10.10.0.255 is the broadcast address of 10.10.0.0/24",
  ]],
  ['4byte asn big vni', (d) => { d.fabric.namespaces.asn = [{ min: 4200000001, max: 4200000100 }]; d.fabric.namespaces.overlayAsn = 4210000000; d.virtualNetworks[0].vni = 70000; }, SERVICES_FRR, [
    "virtualNetworks[0].vni | virtualNetworks[0] (web).vni: 70000 does not fit a route target of 4-byte overlay AS 4210000000 (VNI at most 65535)",
  ]],
  ['lr name long', (d) => { d.logicalRouters[0].name = 'a-very-long-name-x'; }, SERVICES_FRR, [
    "logicalRouters[0].name | logicalRouters[0] (a-very-long-name-x).name: \"a-very-long-name-x\" is not a valid logical router name (a letter, then letters, digits, \"_\", \"-\"; up to 15: it names the VRF)",
  ]],
  ['lr dup name', (d) => { d.logicalRouters[1].name = 'crb1'; }, SERVICES_FRR, [
    "logicalRouters[1].name | logicalRouters[1] (crb1).name: duplicate logical router name \"crb1\" (also logicalRouters[0])",
  ]],
  ['lr vni = vn vni', (d) => { d.logicalRouters[0].vni = 10200; }, SERVICES_FRR, [
    "logicalRouters[0].vni | logicalRouters[0] (crb1).vni: VNI 10200 is already used by virtualNetworks[1]",
  ]],
  ['lr vni dup', (d) => { d.logicalRouters[1].vni = 20001; }, SERVICES_FRR, [
    "logicalRouters[1].vni | logicalRouters[1] (erb1).vni: VNI 20001 is already used by logicalRouters[0]",
  ]],
  ['lr vni range', (d) => { d.logicalRouters[1].vni = 0; }, SERVICES_FRR, [
    "logicalRouters[1].vni | logicalRouters[1] (erb1).vni: 0 is outside 1..16777214",
  ]],
  ['lr mode bad', (d) => { d.logicalRouters[1].mode = 'xrb'; }, SERVICES_FRR, [
    "logicalRouters[1].mode | logicalRouters[1].mode: unknown mode \"xrb\" (known: crb, erb)",
  ]],
  ['lr no role', (d) => { d.devices[4].roles = ['CRB-Access']; d.devices[5].roles = ['CRB-Access']; }, SERVICES_FRR, [
    "logicalRouters[1].mode | logicalRouters[1] (erb1).mode: erb needs a device with the ERB-UCAST-Gateway role (none has it)",
  ]],
  ['lr unknown net', (d) => { d.logicalRouters[0].networks.push('nope'); }, SERVICES_FRR, [
    "logicalRouters[0].networks[2] | logicalRouters[0] (crb1).networks[2]: unknown virtual network \"nope\"",
  ]],
  ['lr net twice', (d) => { d.logicalRouters[0].networks.push('web'); }, SERVICES_FRR, [
    "logicalRouters[0].networks[2] | logicalRouters[0] (crb1).networks[2]: network \"web\" listed twice",
  ]],
  ['vn in two lrs', (d) => { d.logicalRouters[1].networks.push('db'); }, SERVICES_FRR, [
    "logicalRouters[1].networks[1] | logicalRouters[1] (erb1).networks[1]: network \"db\" is already in logical router crb1 (a network joins at most one)",
  ]],
  ['lr net no gw', (d) => { delete d.virtualNetworks[2].gateway; }, SERVICES_FRR, [
    "logicalRouters[1].networks[0] | logicalRouters[1] (erb1).networks[0]: network \"app\" needs a subnet and a gateway to be routed",
  ]],
  ['server dup', (d) => { d.servers[1].name = 'bms1'; }, SERVICES_FRR, [
    "servers[1].name | servers[1] (bms1).name: duplicate server name \"bms1\" (also servers[0])",
    "vpgs[1].server | vpgs[1] (vpg2).server: unknown server \"bms2\"",
  ]],
  ['server empty nics', (d) => { d.servers[0].nics = []; d.vpgs[0].server = undefined; }, SERVICES_FRR, [
    "servers[0].nics | servers[0] (bms1).nics: empty: a server needs at least one NIC",
  ]],
  ['server unknown dev', (d) => { d.servers[0].nics[0].device = 'leaf9'; }, SERVICES_FRR, [
    "servers[0].nics[0] | servers[0] (bms1).nics[0]: unknown device \"leaf9\"",
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: port leaf1:swp10 is not a NIC of server bms1",
  ]],
  ['server spine port', (d) => { d.servers[0].nics[0] = 'spine1:swp10'; }, SERVICES_FRR, [
    "servers[0].nics[0] | servers[0] (bms1).nics[0]: spine1:swp10 is not a leaf access port (spine1 is a spine)",
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: port leaf1:swp10 is not a NIC of server bms1",
  ]],
  ['server link port', (d) => { d.servers[0].nics[0] = 'leaf1:swp51'; }, SERVICES_FRR, [
    "servers[0].nics[0] | servers[0] (bms1).nics[0]: leaf1:swp51 is not a leaf access port (it is a fabric link port, links[0])",
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: port leaf1:swp10 is not a NIC of server bms1",
  ]],
  ['server bad port', (d) => { d.servers[0].nics[0] = 'leaf1:eth0'; }, SERVICES_FRR, [
    "servers[0].nics[0] | servers[0] (bms1).nics[0]: \"eth0\" is not a valid port for leaf1 (frr-switch: front-panel swpN (breakout swpNsM); Linux interface names, not eth*/lo/mgmt*)",
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: port leaf1:swp10 is not a NIC of server bms1",
  ]],
  ['server bad mac', (d) => { d.servers[0].nics[0].mac = '52:54:00:00:00'; }, SERVICES_FRR, [
    "servers[0].nics[0].mac | servers[0] (bms1).nics[0].mac: \"52:54:00:00:00\" is not a MAC address (xx:xx:xx:xx:xx:xx)",
  ]],
  ['server nic twice', (d) => { d.servers[1].nics[0] = 'leaf1:swp10'; }, SERVICES_FRR, [
    "servers[1].nics[0] | servers[1] (bms2).nics[0]: port leaf1:swp10 is already a NIC of bms1",
    "vpgs[1].ports[0] | vpgs[1] (vpg2).ports[0]: port leaf2:swp10 is not a NIC of server bms2",
  ]],
  ['nic bad end', (d) => { d.servers[1].nics[0] = 'leaf1'; }, SERVICES_FRR, [
    "servers[1].nics[0] | servers[1] (bms2).nics[0]: \"leaf1\" is not \"device:port\"",
  ]],
  ['vpg dup', (d) => { d.vpgs[1].name = 'vpg1'; }, SERVICES_FRR, [
    "vpgs[1].name | vpgs[1] (vpg1).name: duplicate VPG name \"vpg1\" (also vpgs[0])",
  ]],
  ['vpg unknown server', (d) => { d.vpgs[0].server = 'bms9'; }, SERVICES_FRR, [
    "vpgs[0].server | vpgs[0] (vpg1).server: unknown server \"bms9\"",
  ]],
  ['vpg empty ports', (d) => { d.vpgs[0].ports = []; }, SERVICES_FRR, [
    "vpgs[0].ports | vpgs[0] (vpg1).ports: empty: a VPG needs at least one port",
  ]],
  ['vpg spine port', (d) => { d.vpgs[0].ports = ['spine1:swp10']; delete d.vpgs[0].server; }, SERVICES_FRR, [
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: spine1:swp10 is not a leaf access port (spine1 is a spine)",
  ]],
  ['vpg link port', (d) => { d.vpgs[0].ports = ['leaf1:swp51']; delete d.vpgs[0].server; }, SERVICES_FRR, [
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: leaf1:swp51 is not a leaf access port (it is a fabric link port, links[0])",
  ]],
  ['vpg lean leaf', (d) => { d.devices[2].roles = []; }, SERVICES_FRR, [
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: leaf1:swp10 is not a leaf access port (leaf1 has no access role: CRB-Access or ERB-UCAST-Gateway)",
  ]],
  ['vpg port in two', (d) => { d.vpgs[1].ports[0] = 'leaf1:swp10'; delete d.vpgs[1].server; }, SERVICES_FRR, [
    "vpgs[1].ports[0] | vpgs[1] (vpg2).ports[0]: port leaf1:swp10 is already in VPG vpg1",
  ]],
  ['vpg port twice', (d) => { d.vpgs[1].ports[1] = 'leaf2:swp10'; }, SERVICES_FRR, [
    "vpgs[1].ports[1] | vpgs[1] (vpg2).ports[1]: port leaf2:swp10 is already in this VPG",
  ]],
  ['vpg port not nic', (d) => { d.vpgs[0].ports.push('leaf1:swp11'); }, SERVICES_FRR, [
    "vpgs[0].ports[1] | vpgs[0] (vpg1).ports[1]: port leaf1:swp11 is not a NIC of server bms1",
  ]],
  ['binding unknown net', (d) => { d.vpgs[0].bindings[0].network = 'nope'; }, SERVICES_FRR, [
    "vpgs[0].bindings[0].network | vpgs[0] (vpg1).bindings[0].network: unknown virtual network \"nope\"",
  ]],
  ['binding vlan range', (d) => { d.vpgs[1].bindings[0].vlan = 4095; }, SERVICES_FRR, [
    "vpgs[1].bindings[0].vlan | vpgs[1] (vpg2).bindings[0].vlan: VLAN 4095 is outside 1..4094",
  ]],
  ['binding vlan 0', (d) => { d.vpgs[1].bindings[0].vlan = 0; }, SERVICES_FRR, [
    "vpgs[1].bindings[0].vlan | vpgs[1] (vpg2).bindings[0].vlan: VLAN 0 is outside 1..4094",
  ]],
  ['binding vlan twice', (d) => { d.vpgs[1].bindings[1].vlan = 100; }, SERVICES_FRR, [
    "vpgs[1].bindings[1].vlan | vpgs[1] (vpg2).bindings[1].vlan: VLAN 100 is used twice in this VPG (also bindings[0])",
  ]],
  ['second untagged', (d) => { d.vpgs[1].bindings = [{ network: 'web', untagged: true }, { network: 'db', untagged: true }]; }, SERVICES_FRR, [
    "vpgs[1].bindings[1].untagged | vpgs[1] (vpg2).bindings[1].untagged: a second untagged binding (bindings[0] is untagged already)",
  ]],
  ['network twice', (d) => { d.vpgs[1].bindings[1].network = 'web'; }, SERVICES_FRR, [
    "vpgs[1].bindings[1].network | vpgs[1] (vpg2).bindings[1].network: network \"web\" is bound twice in this VPG (also bindings[0])",
  ]],
  ['binding both', (d) => { d.vpgs[1].bindings[1].untagged = true; }, SERVICES_FRR, [
    "vpgs[1].bindings[1] | vpgs[1].bindings[1]: give either vlan or untagged: true, not both",
  ]],
  ['binding neither', (d) => { delete d.vpgs[1].bindings[1].vlan; }, SERVICES_FRR, [
    "vpgs[1].bindings[1] | vpgs[1].bindings[1]: needs vlan (1..4094) or untagged: true",
  ]],
  ['binding untagged false', (d) => { d.vpgs[0].bindings[0].untagged = false; }, SERVICES_FRR, [
    "vpgs[0].bindings[0].untagged | vpgs[0].bindings[0].untagged: expected true (or leave it out and give vlan), got boolean false",
  ]],
  ['no overlay asn', (d) => { delete d.fabric.namespaces.overlayAsn; for (const x of d.devices) x.roles = []; d.logicalRouters = []; }, SERVICES_FRR, [
    "fabric.namespaces.overlayAsn | fabric.namespaces.overlayAsn: missing: virtual networks need the overlay (iBGP EVPN) ASN for their route targets",
    "vpgs[0].ports[0] | vpgs[0] (vpg1).ports[0]: leaf1:swp10 is not a leaf access port (leaf1 has no access role: CRB-Access or ERB-UCAST-Gateway)",
    "vpgs[1].ports[0] | vpgs[1] (vpg2).ports[0]: leaf2:swp10 is not a leaf access port (leaf2 has no access role: CRB-Access or ERB-UCAST-Gateway)",
    "vpgs[1].ports[1] | vpgs[1] (vpg2).ports[1]: leaf2:swp11 is not a leaf access port (leaf2 has no access role: CRB-Access or ERB-UCAST-Gateway)",
    "vpgs[2].ports[0] | vpgs[2] (vpg3).ports[0]: leaf3:swp10 is not a leaf access port (leaf3 has no access role: CRB-Access or ERB-UCAST-Gateway)",
    "vpgs[2].ports[1] | vpgs[2] (vpg3).ports[1]: leaf4:swp10 is not a leaf access port (leaf4 has no access role: CRB-Access or ERB-UCAST-Gateway)",
  ]],
  ['junos vlan two nets', (d) => { d.vpgs.push({ name: 'vpg4', ports: ['leaf2:xe-0/0/12'], bindings: [{ network: 'app', vlan: 100 }] }); }, SERVICES_JUNOS, [
    "vpgs[3].bindings[0].vlan | vpgs[3] (vpg4).bindings[0].vlan: VLAN 100 on Junos device leaf2 already carries network web (vpgs[1].bindings[0]); Junos maps a VLAN id to one network per device",
  ]],
  ['junos net two vlans', (d) => { d.vpgs.push({ name: 'vpg4', ports: ['leaf2:xe-0/0/12'], bindings: [{ network: 'web', vlan: 101 }] }); }, SERVICES_JUNOS, [
    "vpgs[3].bindings[0].vlan | vpgs[3] (vpg4).bindings[0].vlan: network web already rides VLAN 100 on Junos device leaf2 (vpgs[1].bindings[0]); Junos maps a network to one VLAN id per device",
  ]],
];

describe('overlay services validation', () => {
  test('the services fabrics are valid as given', () => {
    expect(problems(() => undefined, SERVICES_FRR)).toEqual([]);
    expect(problems(() => undefined, SERVICES_JUNOS)).toEqual([]);
  });

  test.each(REFUSALS)('refused: %s', (_name, mutate, text, want) => {
    expect(problems(mutate, text)).toEqual(want);
  });

  test('validateFabric throws the first problem as a FabricError with its path', () => {
    const d = base();
    d.vpgs[1].bindings[1].vlan = 100;
    const file = parseFabricFile(d);
    let err: unknown;
    try { validateFabric(file); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FabricError);
    expect((err as FabricError).path).toBe('vpgs[1].bindings[1].vlan');
    expect((err as FabricError).message).toBe('vpgs[1] (vpg2).bindings[1].vlan: VLAN 100 is used twice in this VPG (also bindings[0])');
  });

  test('a network may be bound to many VPGs, with the same or different VLANs', () => {
    const ok = problems((d) => {
      d.servers.push({ name: 'bms4', nics: ['leaf1:swp11'] }, { name: 'bms5', nics: ['leaf2:swp12'] });
      d.vpgs.push({ name: 'vpg4', server: 'bms4', ports: ['leaf1:swp11'], bindings: [{ network: 'web', vlan: 100 }, { network: 'db', untagged: true }] });
      d.vpgs.push({ name: 'vpg5', ports: ['leaf2:swp12'], bindings: [{ network: 'web', vlan: 300 }] });
    });
    expect(ok).toEqual([]);
  });

  test('networkBindings lists every VPG binding of a network (the API refuses deleting it: 409)', () => {
    const file = parseFabricFile(SERVICES_FRR);
    expect(networkBindings(file, 'web')).toEqual([
      { vpg: 'vpg1', untagged: true },
      { vpg: 'vpg2', vlan: 100, untagged: false },
      { vpg: 'vpg3', vlan: 110, untagged: false },
    ]);
    expect(networkBindings(file, 'nope')).toEqual([]);
    expect(networkRouters(file, 'db')).toEqual(['crb1']);
    expect(networkRouters(file, 'app')).toEqual(['erb1']);
  });

  test('examples/dc1-frr-services.yaml (the demo\'s shape) is valid and plans an ESI-LAG on leaf3 and leaf4', () => {
    const text = readFileSync(path.resolve(__dirname, '../../examples/dc1-frr-services.yaml'), 'utf8');
    expect(problems(() => undefined, text)).toEqual([]);
    const plans = planFabric(text).plans;
    const esis = plans.filter((p) => p.vpgs.some((v) => v.esi)).map((p) => `${p.name}:${p.vpgs[0].lag}`);
    expect(esis).toEqual(['leaf3:bond1', 'leaf4:bond1']);
    expect(plans.filter((p) => p.logicalRouters.length).map((p) => p.name)).toEqual(['leaf1', 'leaf2', 'leaf3', 'leaf4']);
  });

  test('a fabric without services stays valid and gains no lists', () => {
    const d = base();
    for (const k of ['virtualNetworks', 'logicalRouters', 'servers', 'vpgs']) delete d[k];
    const file = parseFabricFile(d);
    expect(file.virtualNetworks).toBeUndefined();
    expect(problems((x) => { for (const k of ['virtualNetworks', 'logicalRouters', 'servers', 'vpgs']) delete x[k]; })).toEqual([]);
  });
});
