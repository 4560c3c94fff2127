// The platform registry: every platform module by name (the shipped ones, and any a caller
// registers: a test's toy platform, a plugin). Render, push, rollback, verify and ZTP look a
// platform up here instead of branching on its name.
import type { NetconfClient } from '../netconf/client';
import { frr } from './frr';
import { junos } from './junos';
import type { PlatformModule } from './types';


const modules = new Map<string, PlatformModule>([[junos.name, junos], [frr.name, frr]]);
/** A session whose hello names no registered platform is this one's (FRR: plain RFC 6241). */
const FALLBACK = frr;

/** Adds (or replaces) a platform. Its data file must exist beside the node profiles too. */
export function registerPlatform(m: PlatformModule): void {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(m.name)) throw new Error(`platform name "${m.name}": expected lower-case letters, digits, "-"`);
  modules.set(m.name, m);
}

/** Removes a platform a caller registered (tests clean up after themselves). */
export function unregisterPlatform(name: string): void {
  if (name === junos.name || name === FALLBACK.name) throw new Error(`platform ${name} ships with the service and cannot be removed`);
  modules.delete(name);
}

export function findPlatform(name: string): PlatformModule | undefined {
  return modules.get(name);
}

/** Registered platform names, sorted. */
export function platformNames(): string[] {
  return [...modules.keys()].sort();
}

/** The platform named, or an error naming `what` and the known ones. */
export function platformModule(name: string, what = 'platform'): PlatformModule {
  const m = modules.get(name);
  if (!m) throw new Error(`${what} "${name}" has no platform module (known: ${platformNames().join(', ')})`);
  return m;
}

/** The platform of a device that names no other (its hello, its DHCP vendor class). */
export function fallbackPlatform(): PlatformModule {
  return FALLBACK;
}

/** The platform of a DHCP client, by its vendor class: the first that claims it, else the fallback. */
export function platformOfDhcpClient(id: { vendor?: string; vendorClass?: string }): PlatformModule {
  for (const m of modules.values()) if (m.ztp.dhcpClient?.(id)) return m;
  return FALLBACK;
}

/**
 * For a DHCP client of unknown platform (a learned host): one platform per DHCP option form,
 * the fallback's form first; each gets its own token, and the form the device reads decides
 * which bootstrap it fetches.
 */
export function platformsPerDhcpForm(): PlatformModule[] {
  const byForm = new Map<string, PlatformModule>([[FALLBACK.ztp.dhcpOptions ?? 'url', FALLBACK]]);
  for (const m of modules.values()) {
    const form = m.ztp.dhcpOptions ?? 'url';
    if (!byForm.has(form)) byForm.set(form, m);
  }
  return [...byForm.values()];
}

/** The platform a NETCONF session's hello says the device is: the first that claims it, else the fallback. */
export function platformOfSession(c: NetconfClient): PlatformModule {
  for (const m of modules.values()) if (m.speaks?.(c)) return m;
  return FALLBACK;
}
