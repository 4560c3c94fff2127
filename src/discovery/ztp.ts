// The ZTP bootstrap: `templates/<platform>/ztp.njk` rendered with the fabric's credentials,
// SNMP and the device's host name (its serial until it is named). Pure apart from reading
// the template files.
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Credentials, SnmpSettings } from '../domain/types';
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
    netconfPort: b.netconfPort ?? 830, snmp,
  };
  // A caller's template folder wins (tests), then the platform's own, then the repository's.
  const body = env(templateDir ?? platform.templateDir ?? defaultTemplateDir()).render(path.join(b.platform, 'ztp.njk'), ctx);
  return { contentType: platform.ztp.contentType, body };
}
