// Facts over NETCONF (H3's client): the device agent's `<get-facts xmlns="urn:fabric:device"/>`
// (docs/device-agent.md) or, on Junos, get-system-information + interface names. One line of
// error per device, never carrying credentials.
import { NetconfClient, type HostKeyStore } from '../netconf/client';
import { child, childText, childrenNamed, elements, type XmlElement } from '../netconf/xml';
import type { Credentials } from '../domain/types';
import { AllowList } from './allow';

export const NS_DEVICE = 'urn:fabric:device';

export interface DeviceFactsRead {
  hostname: string;
  vendor?: string;
  model: string;
  serial: string;
  osName?: string;
  osVersion: string;
  managementAddress?: string;
  interfaces: { name: string; operStatus?: string; mac?: string }[];
}

export class FactsError extends Error {
  constructor(readonly target: string, message: string) {
    super(`netconf ${target}: ${message}`);
    this.name = 'FactsError';
  }
}

export interface FactsOptions {
  credentials: Credentials;
  port?: number;
  allow?: AllowList;
  hostKeyStore?: HostKeyStore;
  /** names the device in the host key store */
  deviceId?: string;
  connectTimeoutMs?: number;
  rpcTimeoutMs?: number;
}

function findDeep(el: XmlElement | undefined, name: string, depth = 5): XmlElement | undefined {
  if (!el || depth < 0) return undefined;
  for (const c of elements(el)) if (c.name === name) return c;
  for (const c of elements(el)) {
    const f = findDeep(c, name, depth - 1);
    if (f) return f;
  }
  return undefined;
}

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

/** Facts from an open session. */
export async function factsFrom(c: NetconfClient): Promise<DeviceFactsRead> {
  if (c.isJunos) {
    const s = await c.getSystemInformation();
    let interfaces: DeviceFactsRead['interfaces'] = [];
    try {
      const r = await c.rpc('<get-interface-information><terse/></get-interface-information>');
      const info = findDeep(r.root, 'interface-information');
      interfaces = childrenNamed(info, 'physical-interface').map((p) => ({ name: (childText(p, 'name') ?? '').trim(), operStatus: childText(p, 'oper-status')?.trim() })).filter((i) => i.name);
    } catch { /* interfaces are optional facts */ }
    return { hostname: s.hostname ?? '', vendor: 'Juniper', model: s.model ?? '', serial: s.serial ?? '', osName: s.osName, osVersion: s.osVersion ?? '', interfaces };
  }
  const r = await c.rpc(`<get-facts xmlns="${NS_DEVICE}"/>`);
  const f = findDeep(r.root, 'facts');
  if (!f) throw new Error('get-facts reply has no <facts>');
  return parseAgentFacts(f);
}

export async function readFacts(address: string, o: FactsOptions): Promise<DeviceFactsRead> {
  o.allow?.check(address, 'NETCONF target');
  let c: NetconfClient | undefined;
  try {
    c = await NetconfClient.connect({
      host: address, port: o.port ?? 830, deviceId: o.deviceId, username: o.credentials.username, password: o.credentials.password,
      hostKeyStore: o.hostKeyStore, connectTimeoutMs: o.connectTimeoutMs ?? 10_000, rpcTimeoutMs: o.rpcTimeoutMs ?? 15_000, keepaliveIntervalMs: 0,
    });
    const f = await factsFrom(c);
    if (!f.serial) throw new Error('facts carry no serial number');
    return f;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0].replace(o.credentials.password, '***');
    throw new FactsError(address, msg.startsWith('netconf ') ? msg.replace(/^netconf \S+: /, '') : msg);
  } finally {
    if (c) await c.close().catch(() => c!.destroy());
  }
}
