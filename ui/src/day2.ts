// Day-2 facts the UI derives, pure (unit-tested in test/ui/ui-units.test.ts): a device's OS
// version against the fabric's target (settings.osVersions, the service's own comparison
// rule), an upgrade job's batches, and a replacement serial checked before it is sent.
import { sameVersion, targetVersion } from '../../src/jobs/upgrade/version';
import type { Device, Job, UpgradePlan } from './types';

export interface VersionDrift { target?: string; drift: boolean }

/** The stored (last reported) version against the profile's target; no target: no drift. */
export function versionDrift(d: Pick<Device, 'profile' | 'osVersion'>, osVersions: Record<string, string> | undefined): VersionDrift {
  const target = targetVersion(osVersions, d.profile);
  return target === undefined ? { drift: false } : { target, drift: !sameVersion(d.osVersion, target) };
}

/**
 * An upgrade job's batches: its result once it ended, else the plan lines its planning step
 * logs ("batch 1 of 3: leaf1, leaf2 (leaf tier; ...)"), so a reloaded job page still has them.
 */
export function upgradeBatches(job: Pick<Job, 'result' | 'log'>): UpgradePlan['batches'] {
  const r = job.result as Partial<UpgradePlan> | undefined;
  if (r && Array.isArray(r.batches) && r.batches.length) return r.batches;
  const out: UpgradePlan['batches'] = [];
  for (const l of job.log) {
    if (l.device) continue;
    const m = /^batch (\d+) of (\d+): (.+?) \((.*)\)$/.exec(l.message);
    if (m && Number(m[1]) === out.length + 1) out.push({ devices: m[3].split(', '), reason: m[4] });
  }
  return out;
}

/** Names typed by the user ("leaf1, leaf2 leaf3") checked against the fabric's devices. */
export function parseDeviceList(text: string, known: ReadonlySet<string>): { devices: string[]; error?: string } {
  const devices = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  const unknown = devices.filter((d) => !known.has(d));
  return unknown.length ? { devices, error: `not a device of this fabric: ${unknown.join(', ')}` } : { devices };
}

/** A serial the service can store (its schema's pattern when the OpenAPI gives one); undefined: fine. */
export function serialError(serial: string, rule: { pattern?: string; minLength?: number; maxLength?: number } = {}): string | undefined {
  const s = serial.trim();
  if (!s) return 'serial: enter the replacement device\'s serial number';
  if (s !== serial) return 'serial: no spaces around it';
  if (/[\u0000-\u001f\u007f\s]/.test(s)) return 'serial: no spaces or control characters';
  const max = rule.maxLength ?? 64;
  if (s.length > max || s.length < (rule.minLength ?? 1)) return `serial: ${rule.minLength ?? 1} to ${max} characters`;
  if (rule.pattern) {
    let re: RegExp | undefined;
    try { re = new RegExp(rule.pattern, 'u'); } catch { re = undefined; }
    if (re && !re.test(s)) return `serial: does not match ${rule.pattern}`;
  }
  return undefined;
}
