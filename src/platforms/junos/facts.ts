// Discovery facts of a Junos device: get-system-information, and interface names from
// get-interface-information (optional: a box that refuses it still has its facts).
import type { NetconfClient } from '../../netconf/client';
import { childText, childrenNamed, findDeep } from '../../netconf/xml';
import type { DeviceFactsRead } from '../types';

export async function junosReadFacts(c: NetconfClient): Promise<DeviceFactsRead> {
  const s = await c.getSystemInformation();
  let interfaces: DeviceFactsRead['interfaces'] = [];
  try {
    const r = await c.rpc('<get-interface-information><terse/></get-interface-information>');
    const info = findDeep(r.root, 'interface-information');
    interfaces = childrenNamed(info, 'physical-interface').map((p) => ({ name: (childText(p, 'name') ?? '').trim(), operStatus: childText(p, 'oper-status')?.trim() })).filter((i) => i.name);
  } catch { /* interfaces are optional facts */ }
  return { hostname: s.hostname ?? '', vendor: 'Juniper', model: s.model ?? '', serial: s.serial ?? '', osName: s.osName, osVersion: s.osVersion ?? '', interfaces };
}
