// Facts over NETCONF (H3's client), read by the platform the hello names (src/platforms/<name>/facts.ts:
// the device agent's get-facts, Junos' get-system-information + interface names). One line of
// error per device, never carrying credentials.
import { NetconfClient, type HostKeyStore } from '../netconf/client';
import { platformOfSession, type DeviceFactsRead } from '../platforms';
import type { RunningUnderlay } from '../platforms/types';
import type { Credentials } from '../domain/types';
import { AllowList } from './allow';

export { NS_DEVICE, parseAgentFacts } from '../platforms/frr/facts';
export type { DeviceFactsRead } from '../platforms';

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

/** Facts from an open session, by the platform its hello names (src/platforms/<name>/facts.ts). */
export function factsFrom(c: NetconfClient): Promise<DeviceFactsRead> {
  return platformOfSession(c).readFacts(c);
}

/** The error line of a failed read, never carrying the password. */
function cleanError(e: unknown, o: FactsOptions): string {
  return (e as Error).message.split('\n')[0].replace(o.credentials.password, '***');
}

/** One NETCONF session to `address` (inside the allow list) for `fn`; errors become FactsError. */
async function withSession<T>(address: string, o: FactsOptions, fn: (c: NetconfClient) => Promise<T>): Promise<T> {
  o.allow?.check(address, 'NETCONF target');
  let c: NetconfClient | undefined;
  try {
    c = await NetconfClient.connect({
      host: address, port: o.port ?? 830, deviceId: o.deviceId, username: o.credentials.username, password: o.credentials.password,
      hostKeyStore: o.hostKeyStore, connectTimeoutMs: o.connectTimeoutMs ?? 10_000, rpcTimeoutMs: o.rpcTimeoutMs ?? 15_000, keepaliveIntervalMs: 0,
    });
    return await fn(c);
  } catch (e) {
    const msg = cleanError(e, o);
    throw new FactsError(address, msg.startsWith('netconf ') ? msg.replace(/^netconf \S+: /, '') : msg);
  } finally {
    if (c) await c.close().catch(() => c!.destroy());
  }
}

export async function readFacts(address: string, o: FactsOptions): Promise<DeviceFactsRead> {
  return withSession(address, o, async (c) => {
    const f = await factsFrom(c);
    if (!f.serial) throw new Error('facts carry no serial number');
    return f;
  });
}

/**
 * Brownfield: facts and the underlay the device runs (its platform's readUnderlay), over one
 * session. The underlay is a help for adoption (src/discovery/adopt.ts): a platform without a
 * reader, or a read that fails, leaves it out and says why in `underlayError`; the facts stand.
 */
export async function readFactsAndUnderlay(address: string, o: FactsOptions): Promise<{ facts: DeviceFactsRead; underlay?: RunningUnderlay; underlayError?: string }> {
  return withSession(address, o, async (c) => {
    const p = platformOfSession(c);
    const facts = await p.readFacts(c);
    if (!facts.serial) throw new Error('facts carry no serial number');
    if (!p.readUnderlay) return { facts, underlayError: `platform ${p.name} cannot read a running underlay` };
    try {
      return { facts, underlay: await p.readUnderlay(c, facts.serial) };
    } catch (e) {
      return { facts, underlayError: `running underlay: ${cleanError(e, o)}` };
    }
  });
}
