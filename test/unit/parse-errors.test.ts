// The schema's errors from parseFabricFile: all of them at once (not the first), one per spot,
// in file order, worded like validation's (`devices[1] (spine2).roles[0]: ...`).
import { DEFAULT_SETTINGS, FabricError, parseFabricFile } from '../../src/domain';
import { Settings } from '../../src/domain/schema';
import { parseVirtualNetwork, parseVpg } from '../../src/domain/services';
import { Doc, base } from './services-cases';

function parseErrors(d: Doc): string[] {
  try {
    parseFabricFile(d);
  } catch (e) {
    expect(e).toBeInstanceOf(FabricError);
    const fe = e as FabricError;
    // The thrown error is the first; `errors` carries every one (as validateFabric's does).
    expect(fe.errors[0]).toBe(fe);
    return fe.errors.map((x) => `${x.path} | ${x.message}`);
  }
  throw new Error('expected a parse error');
}

describe('parseFabricFile: schema errors', () => {
  test('every error, in file order, one per spot, labelled by name', () => {
    const d = base();
    // Set out of file order on purpose: the report follows the file, not this list.
    d.vpgs[1].bindings[1].untagged = true;
    d.logicalRouters[0].name = 'a-very-long-name-x';
    d.virtualNetworks[0].vni = 0;
    d.links[1] = { a: 'spine1', b: { device: 'leaf1' } };
    d.links[0] = ['spine1:swp1', 'x', 'y'];
    d.devices[2].name = 'leaf 1';
    d.devices[1].roles = ['bad role', 5];
    d.devices[1].mtu = 5;
    d.devices[0].physicalRole = 'core';
    d.fabric.settings = { mtu: 100, bfd: { multiplier: 0 } };
    expect(parseErrors(d)).toEqual([
      'fabric.settings.mtu | fabric.settings.mtu: 100 is outside 1280..65535',
      'fabric.settings.bfd.multiplier | fabric.settings.bfd.multiplier: 0 is outside 1..255',
      'devices[0].physicalRole | devices[0].physicalRole: unknown physical role "core" (known: leaf, spine, superspine, gateway)',
      'devices[1].roles[0] | devices[1] (spine2).roles[0]: unknown role "bad role" (known: null, Route-Reflector, CRB-Access, CRB-Gateway, CRB-MCAST-Gateway, ERB-UCAST-Gateway, DC-Gateway, DCI-Gateway, AR-Replicator, AR-Client)',
      'devices[1].roles[1] | devices[1].roles[1]: expected a routing/bridging role (see node profiles), or null for lean, got number 5',
      'devices[1].mtu | devices[1].mtu: unknown field (allowed: name, serial, profile, physicalRole, roles, managementIp, model)',
      // A device's own bad name is not repeated as its label.
      'devices[2].name | devices[2].name: "leaf 1" is not a valid device name (letters, digits, ".", "_", "-"; up to 63)',
      // Three ends: that one line, not also the ends' forms.
      'links[0] | links[0]: expected two ends [device:port, device:port], got 3',
      'links[1].a | links[1].a: "spine1" is not "device:port"',
      'links[1].b.port | links[1].b.port: expected a non-empty string, got nothing',
      'virtualNetworks[0].vni | virtualNetworks[0] (web).vni: 0 is outside 1..16777214',
      // Too long and not of the form: the form speaks (one line for the spot).
      'logicalRouters[0].name | logicalRouters[0] (a-very-long-name-x).name: "a-very-long-name-x" is not a valid logical router name (a letter, then letters, digits, "_", "-"; up to 15: it names the VRF)',
      // Both variants of the binding union fit: one line that says why, not one per variant.
      'vpgs[1].bindings[1] | vpgs[1].bindings[1]: give either vlan or untagged: true, not both',
    ]);
  });

  test('a name too long and of a bad form is one error', () => {
    const d = base();
    d.virtualNetworks[1].name = `x ${'a'.repeat(70)}`;
    expect(parseErrors(d)).toEqual([
      `virtualNetworks[1].name | virtualNetworks[1] (${d.virtualNetworks[1].name}).name: "${d.virtualNetworks[1].name}" is not a valid name (letters, digits, ".", "_", "-"; up to 63)`,
    ]);
  });

  test('settings defaults come from the schema', () => {
    const f = parseFabricFile(base());
    expect(f.fabric.settings).toMatchObject({ mtu: 9216, bfd: { intervalMs: 300, multiplier: 3 }, gracefulRestart: true });
    expect(DEFAULT_SETTINGS).toMatchObject({
      mtu: Settings.properties.mtu.default, gracefulRestart: Settings.properties.gracefulRestart.default,
      bfd: { intervalMs: Settings.properties.bfd.properties.intervalMs.default, multiplier: Settings.properties.bfd.properties.multiplier.default },
    });
  });

  test('an API body (one service) is checked by the same schema, every error at once', () => {
    const errs = (f: () => unknown): string[] => {
      try { f(); } catch (e) { return (e as FabricError).errors.map((x) => `${x.path} | ${x.message}`); }
      throw new Error('expected an error');
    };
    expect(errs(() => parseVirtualNetwork({ name: 'web', vni: 0, vlan: 3 }, 'body'))).toEqual([
      'body.vni | body.vni: 0 is outside 1..16777214',
      'body.vlan | body.vlan: unknown field (allowed: name, vni, subnet, gateway)',
    ]);
    expect(errs(() => parseVpg({ name: 'v', ports: ['leaf1'], bindings: [{ network: 'web' }] }, 'body'))).toEqual([
      'body.ports[0] | body.ports[0]: "leaf1" is not "device:port"',
      'body.bindings[0] | body.bindings[0]: needs vlan (1..4094) or untagged: true',
    ]);
    expect(parseVpg({ name: 'v', ports: ['leaf1:xe-0/0/3:2'], bindings: [{ network: 'web', vlan: 5 }] }, 'body'))
      .toEqual({ name: 'v', ports: [{ device: 'leaf1', port: 'xe-0/0/3:2' }], bindings: [{ network: 'web', vlan: 5 }] });
  });
});
