// overlay-ecmp after the bootstrap (issue 14, item 1). The ZTP bootstrap carries
// `forwarding-options vxlan-routing overlay-ecmp` for a QFX5110/5120 that has or may get a
// type-5 role, since setting it restarts the Packet Forwarding Engine. A device given such a
// role later lacks it: the plan renders it (in the type-5 group) and the push is refused unless
// the device is drained (maintenance), so the PFE never restarts under traffic by surprise.
import type { NetconfClient } from '../../netconf/client';
import { child, findAll, parseFragment } from '../../netconf/xml';

/** Whether a running `<configuration>` sets overlay-ecmp (at the top level or in any group). Pure. */
export function runsOverlayEcmp(configXml: string): boolean {
  return findAll(parseFragment(configXml), 'forwarding-options').some((f) => child(child(f, 'vxlan-routing'), 'overlay-ecmp') !== undefined);
}

export async function junosRunsOverlayEcmp(c: NetconfClient): Promise<boolean> {
  return runsOverlayEcmp(await c.getConfig('running', '<configuration/>'));
}

// The block templates/junos/overlay_evpn_type5.njk renders, exactly.
const BLOCK = /\n\s*<forwarding-options>\s*<vxlan-routing>\s*<overlay-ecmp\/>\s*<\/vxlan-routing>\s*<\/forwarding-options>/g;

/** The rendered files without the overlay-ecmp block (a push that must not restart the PFE). Pure. */
export function withoutOverlayEcmp(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.replace(BLOCK, '')]));
}
