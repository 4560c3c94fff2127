// An adopted Junos device that keeps its own underlay (brownfield, manageUnderlay false). The
// service's config is its `__fabric_` groups, so everything outside them (the device's own
// underlay) is never touched; the one thing a push must not do is delete a service underlay
// group the device already runs (`__fabric_ip_clos__`, from a time the fabric managed the
// underlay): it is stale for the new render, and junosLoad deletes stale groups. It is kept as
// it runs instead. Pure.
import { junosGroupName } from './render';

const UNDERLAY = junosGroupName('ip_clos');

/** The running canonical group text (junosReadRunning) of `name`, or undefined. */
function runningGroup(groups: string, name: string): string | undefined {
  const lines = groups.split('\n');
  const at = lines.findIndex((l, i) => l === '<groups>' && lines[i + 1]?.trim() === `<name>${name}</name>`);
  if (at < 0) return undefined;
  const end = lines.indexOf('</groups>', at);
  return end < 0 ? undefined : ['<groups replace="replace">', ...lines.slice(at + 1, end + 1)].join('\n');
}

export function junosAdoptedFiles(device: string, running: Record<string, string>, owned: Record<string, string>): Record<string, string> {
  const xml = owned[`${device}.xml`] ?? '';
  const kept = runningGroup(running[`${device}.groups`] ?? '', UNDERLAY);
  if (!kept || xml.includes(`<name>${UNDERLAY}</name>`)) return owned;
  const applied = (running[`${device}.groups`] ?? '').includes(`<apply-groups>${UNDERLAY}</apply-groups>`);
  // first, as ip_clos renders first: apply-groups order is inheritance order
  let out = xml.replace(/^<configuration>\n/, `<configuration>\n${kept}\n`);
  if (applied) out = out.replace(/^( *)<apply-groups>/m, `$1<apply-groups>${UNDERLAY}</apply-groups>\n$1<apply-groups>`);
  return { ...owned, [`${device}.xml`]: out };
}
