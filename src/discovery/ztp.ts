// The ZTP bootstrap: `templates/<platform>/ztp.njk` rendered with the fabric's credentials,
// SNMP and the device's host name (its serial until it is named). Pure apart from reading
// the template files and the node profiles (cached).
import path from 'node:path';
import nunjucks from 'nunjucks';
import { factsOf, loadPlatformData } from '../domain/platforms';
import { defaultProfilesDir, loadProfiles, loadRoleFeatures, profileForModel, profileNamed } from '../domain/profiles';
import type { Credentials, PhysicalRole, SnmpSettings } from '../domain/types';
import { platformModule } from '../platforms';
import { defaultTemplateDir } from '../render';
import { sha512crypt } from './crypt';

export interface BootstrapInput {
  /** a registered platform (src/platforms): its ztp.njk, content type and password form */
  platform: string;
  serial: string;
  /** the fabric's name for the device, when it has one (else the serial) */
  name?: string;
  credentials: Credentials;
  snmp?: SnmpSettings;
  netconfPort?: number;
  /** `forwarding-options vxlan-routing overlay-ecmp` (bootstrapOverlayEcmp): it restarts the PFE, so only the first config may carry it */
  overlayEcmp?: boolean;
  /** fixed salt for tests; random otherwise */
  salt?: string;
}

export const HOSTNAME_RE = /^[A-Za-z0-9-]{1,63}$/;

const envs = new Map<string, nunjucks.Environment>();
function env(dir: string): nunjucks.Environment {
  let e = envs.get(dir);
  if (!e) {
    e = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });
    // Junos quoted string: backslash and double quote escaped, no line breaks.
    e.addFilter('jq', (v: unknown) => `"${String(v).replace(/[\r\n]+/g, ' ').replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    envs.set(dir, e);
  }
  return e;
}

export function renderBootstrap(b: BootstrapInput, templateDir?: string): { contentType: string; body: string } {
  const platform = platformModule(b.platform, 'ZTP bootstrap: platform');
  const hostname = b.name && HOSTNAME_RE.test(b.name) ? b.name : b.serial.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
  const snmp: { community?: string; v3?: { user: string; authKey: string; privKey: string } } = {};
  if (b.snmp && 'community' in b.snmp) snmp.community = b.snmp.community;
  if (b.snmp && 'v3' in b.snmp) snmp.v3 = b.snmp.v3;
  const ctx = {
    hostname, serial: b.serial, username: b.credentials.username, password: b.credentials.password,
    passwordHash: platform.ztp.passwordForm === 'sha512-crypt' ? sha512crypt(b.credentials.password, b.salt) : '',
    netconfPort: b.netconfPort ?? 830, snmp, overlayEcmp: b.overlayEcmp === true,
  };
  // A caller's template folder wins (tests), then the platform's own, then the repository's.
  const body = env(templateDir ?? platform.templateDir ?? defaultTemplateDir()).render(path.join(b.platform, 'ztp.njk'), ctx);
  return { contentType: platform.ztp.contentType, body };
}

/** What the bootstrap knows of the device: its fabric record when listed, else the model its DHCP request named. */
export interface BootstrapDevice {
  profile?: string;
  model?: string;
  physicalRole?: PhysicalRole;
  /** absent: not decided yet (the device is not in the fabric file) */
  roles?: string[];
}

/**
 * Whether the bootstrap carries overlay-ecmp: the profile's `overlayEcmp` fact and a role with
 * pure type-5 routes (roles.yaml: overlay_evpn_type5). Roles unknown: any such role the profile
 * allows (for its physical role when known), since adding it later restarts the PFE in service.
 */
export function bootstrapOverlayEcmp(dev: BootstrapDevice, profilesDir: string = defaultProfilesDir()): boolean {
  const profiles = loadProfiles(profilesDir);
  const profile = (dev.profile ? profileNamed(profiles, dev.profile) : undefined) ?? (dev.model ? profileForModel(dev.model, profiles) : undefined);
  if (!profile || !factsOf(profile, loadPlatformData(profilesDir)).overlayEcmp) return false;
  const rf = loadRoleFeatures(profilesDir);
  const type5 = (role: string) => Object.hasOwn(rf.roles, role) && !rf.notBuilt.has(role) && rf.roles[role as keyof typeof rf.roles].includes('overlay_evpn_type5');
  if (dev.roles) return dev.roles.some(type5);
  return profile.roles.some((r) => {
    const [role, physical] = r.split('@');
    const anyRole = role === '*' && Object.keys(rf.roles).some(type5);
    return (dev.physicalRole === undefined || physical === '*' || physical === dev.physicalRole) && (anyRole || type5(role));
  });
}
