// The device-side OS install, one small function per platform (they move to src/platforms/
// once that folder exists). Each sends one RPC and returns once the device accepted it; the
// reboot that follows is the caller's to wait for.
import type { NetconfClient } from '../../netconf/client';
import { childText, escapeText, findAll, parseFragment } from '../../netconf/xml';

export interface InstallRequest {
  /** the version the image carries (the twin agent takes it; Junos reads it from the package) */
  version: string;
  /** where the device downloads the image: ZTP_BASE_URL + /images/<name>/<sha256> */
  url: string;
  /** twin only: how long the simulated reboot takes */
  rebootSeconds?: number;
}

export interface InstallResult { previousVersion?: string; rpc: string }

/** FRR twin: the agent's install-software RPC (docs/device-agent.md section 6). */
export async function installFrr(client: NetconfClient, r: InstallRequest): Promise<InstallResult> {
  const reboot = r.rebootSeconds === undefined ? '' : `<reboot-seconds>${r.rebootSeconds}</reboot-seconds>`;
  const reply = await client.rpc(`<install-software xmlns="urn:fabric:device"><version>${escapeText(r.version)}</version><image-url>${escapeText(r.url)}</image-url>${reboot}</install-software>`);
  const res = findAll(parseFragment(reply.xml), 'install-software-result')[0];
  return { previousVersion: res ? childText(res, 'previous-version') : undefined, rpc: 'install-software' };
}

/**
 * Junos: request-package-add with validation on (no <no-validate/>: the package is checked
 * against the running config before it installs) and a reboot into the new image.
 */
export async function installJunos(client: NetconfClient, r: InstallRequest): Promise<InstallResult> {
  await client.rpc(`<request-package-add><package-name>${escapeText(r.url)}</package-name><reboot/></request-package-add>`);
  return { rpc: 'request-package-add' };
}

export function installerFor(platform: string): (c: NetconfClient, r: InstallRequest) => Promise<InstallResult> {
  if (platform === 'frr') return installFrr;
  if (platform === 'junos') return installJunos;
  throw new Error(`no OS install for platform ${platform}`);
}
