// Discovery facts of a device agent: `<get-facts xmlns="urn:fabric:device"/>` (docs/device-agent.md).
import type { NetconfClient } from '../../netconf/client';
import { child, childText, childrenNamed, findDeep, type XmlElement } from '../../netconf/xml';
import type { DeviceFactsRead } from '../types';

export const NS_DEVICE = 'urn:fabric:device';

/** Parses the agent's `<facts>` reply element. Pure. */
export function parseAgentFacts(facts: XmlElement): DeviceFactsRead {
  const ifs = childrenNamed(child(facts, 'interfaces'), 'interface').map((i) => {
    const r: { name: string; operStatus?: string; mac?: string } = { name: childText(i, 'name') ?? '' };
    const st = childText(i, 'oper-status');
    if (st) r.operStatus = st;
    const mac = childText(i, 'phys-address');
    if (mac) r.mac = mac;
    return r;
  }).filter((i) => i.name);
  return {
    hostname: childText(facts, 'hostname') ?? '',
    vendor: childText(facts, 'vendor'),
    model: childText(facts, 'model') ?? '',
    serial: childText(facts, 'serial-number') ?? '',
    osName: childText(facts, 'os-name'),
    osVersion: childText(facts, 'os-version') ?? '',
    managementAddress: childText(facts, 'management-address'),
    interfaces: ifs,
  };
}

export async function agentReadFacts(c: NetconfClient): Promise<DeviceFactsRead> {
  const r = await c.rpc(`<get-facts xmlns="${NS_DEVICE}"/>`);
  const f = findDeep(r.root, 'facts');
  if (!f) throw new Error('get-facts reply has no <facts>');
  return parseAgentFacts(f);
}
