// Device side of zero-touch provisioning (docs/device-agent.md §2), pure functions:
// the lease a dhclient script hands over, the bootstrap URL it carries, the bootstrap document.
import { load as parseYaml } from 'js-yaml';
import { ipv4ToInt } from './topology';

/** Variables of a dhclient-script environment we care about (KEY=VALUE lines). */
export type LeaseEnv = Record<string, string>;

export function parseLeaseEnv(text: string): LeaseEnv {
  const out: LeaseEnv = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) continue;
    let v = line.slice(i + 1);
    // `export -p` / `set` style quoting: strip one level of single quotes
    if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1).replace(/'\\''/g, "'");
    out[k] = v;
  }
  return out;
}

/** dhclient renders option 43 (unknown format) as colon-separated hex, or as a quoted string. */
export function decodeOptionBytes(v: string): Buffer {
  const t = v.trim();
  if (/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})*$/.test(t)) return Buffer.from(t.split(':').map((h) => parseInt(h, 16)));
  return Buffer.from(t.replace(/^"|"$/g, ''), 'latin1');
}

/** Juniper-style option 43 sub-options: code -> value (ASCII). */
export function parseOption43(v: string): Map<number, string> {
  const b = decodeOptionBytes(v);
  const out = new Map<number, string>();
  let i = 0;
  while (i + 2 <= b.length) {
    const code = b[i];
    const len = b[i + 1];
    if (code === 255) break;
    if (code === 0 && len === undefined) break;
    if (i + 2 + len > b.length) break;
    out.set(code, b.subarray(i + 2, i + 2 + len).toString('latin1'));
    i += 2 + len;
  }
  return out;
}

function firstIp(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const first = v.trim().split(/[\s,]+/)[0].replace(/^"|"$/g, '');
  return first || undefined;
}

/**
 * The bootstrap URL of a lease, first match wins: option 67 full URL; option 43 (Juniper
 * sub-options 1 file, 3 transfer mode, 5 port) with server 150/66/54; option 66/150 + 67 file.
 */
export function bootstrapUrl(lease: LeaseEnv): string | undefined {
  const file67 = (lease.new_bootfile_name ?? '').replace(/^"|"$/g, '');
  if (/^https?:\/\//i.test(file67)) return file67;
  const server150 = firstIp(lease.new_ztp_tftp_servers);
  const server66 = firstIp(lease.new_tftp_server_name);
  const server54 = firstIp(lease.new_dhcp_server_identifier);
  if (lease.new_vendor_encapsulated_options) {
    const sub = parseOption43(lease.new_vendor_encapsulated_options);
    const file = sub.get(1);
    const mode = sub.get(3);
    if (file && (mode === undefined || mode.toLowerCase() === 'http')) {
      if (/^https?:\/\//i.test(file)) return file;
      const server = server150 ?? server66 ?? server54;
      const port = sub.get(5) && /^\d+$/.test(sub.get(5)!) ? Number(sub.get(5)) : 80;
      if (server) return `http://${hostPort(server, port)}/${file.replace(/^\/+/, '')}`;
    }
  }
  const server = server66 ?? server150;
  if (server && file67) {
    if (/^https?:\/\//i.test(server)) return `${server.replace(/\/+$/, '')}/${file67.replace(/^\/+/, '')}`;
    return `http://${server}/${file67.replace(/^\/+/, '')}`;
  }
  return undefined;
}

function hostPort(host: string, port: number): string {
  return port === 80 ? host : `${host}:${port}`;
}

/** Only the lease's own subnet and its DHCP server may serve a bootstrap (network safety). */
export function urlAllowed(url: string, lease: LeaseEnv): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  const h = ipv4ToInt(host);
  if (h === undefined) return false;
  if (lease.new_dhcp_server_identifier && host === lease.new_dhcp_server_identifier) return true;
  const a = ipv4ToInt(lease.new_ip_address ?? '');
  const m = ipv4ToInt(lease.new_subnet_mask ?? '');
  if (a === undefined || m === undefined) return false;
  return ((a & m) >>> 0) === ((h & m) >>> 0);
}

export interface Bootstrap {
  hostname?: string;
  credentials: { username: string; password: string };
  netconf: { port: number };
  snmp: { community?: string; v3?: { user: string; authKey: string; privKey: string } };
  lldp: boolean;
}

export class BootstrapError extends Error {}

function o(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keysOnly(v: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new BootstrapError(`bootstrap: unknown key "${where}${k}"`);
}

function s(v: unknown, where: string, re?: RegExp): string {
  if (typeof v !== 'string' || v.length === 0) throw new BootstrapError(`bootstrap: ${where}: expected a non-empty string`);
  if (re && !re.test(v)) throw new BootstrapError(`bootstrap: ${where}: invalid value`);
  return v;
}

export function parseBootstrap(text: string): Bootstrap {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new BootstrapError(`bootstrap: not JSON/YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return validateBootstrap(doc);
}

export function validateBootstrap(doc: unknown): Bootstrap {
  if (!o(doc)) throw new BootstrapError('bootstrap: expected an object');
  keysOnly(doc, ['hostname', 'credentials', 'netconf', 'snmp', 'lldp'], '');
  const out: Bootstrap = { credentials: { username: '', password: '' }, netconf: { port: 830 }, snmp: {}, lldp: true };
  if (doc.hostname !== undefined) out.hostname = s(doc.hostname, 'hostname', /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/);
  if (!o(doc.credentials)) throw new BootstrapError('bootstrap: credentials: expected {username, password}');
  keysOnly(doc.credentials, ['username', 'password'], 'credentials.');
  out.credentials = {
    username: s(doc.credentials.username, 'credentials.username', /^[a-z_][a-z0-9_-]{0,31}$/),
    password: s(doc.credentials.password, 'credentials.password'),
  };
  if (doc.netconf !== undefined) {
    if (doc.netconf === false) throw new BootstrapError('bootstrap: netconf: false is refused (the service needs NETCONF)');
    if (!o(doc.netconf)) throw new BootstrapError('bootstrap: netconf: expected {port}');
    keysOnly(doc.netconf, ['port'], 'netconf.');
    if (doc.netconf.port !== undefined) {
      const p = doc.netconf.port;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new BootstrapError('bootstrap: netconf.port: expected 1-65535');
      out.netconf.port = p;
    }
  }
  if (!o(doc.snmp)) throw new BootstrapError('bootstrap: snmp: expected {community} and/or {v3}');
  keysOnly(doc.snmp, ['community', 'v3'], 'snmp.');
  if (doc.snmp.community !== undefined) out.snmp.community = s(doc.snmp.community, 'snmp.community', /^[A-Za-z0-9_.-]{1,32}$/);
  if (doc.snmp.v3 !== undefined) {
    const v = doc.snmp.v3;
    if (!o(v)) throw new BootstrapError('bootstrap: snmp.v3: expected {user, authKey, privKey}');
    keysOnly(v, ['user', 'authKey', 'privKey'], 'snmp.v3.');
    const user = s(v.user, 'snmp.v3.user', /^[A-Za-z0-9_.-]{1,32}$/);
    const authKey = s(v.authKey, 'snmp.v3.authKey');
    const privKey = s(v.privKey, 'snmp.v3.privKey');
    if (authKey.length < 8 || privKey.length < 8) throw new BootstrapError('bootstrap: snmp.v3: keys need at least 8 characters');
    if (/["\n]/.test(authKey + privKey)) throw new BootstrapError('bootstrap: snmp.v3: keys must not hold quotes or newlines');
    out.snmp.v3 = { user, authKey, privKey };
  }
  if (!out.snmp.community && !out.snmp.v3) throw new BootstrapError('bootstrap: snmp: give a community or v3 settings');
  if (doc.lldp !== undefined) {
    if (typeof doc.lldp !== 'boolean') throw new BootstrapError('bootstrap: lldp: expected true or false');
    out.lldp = doc.lldp;
  }
  return out;
}

/** The dhclient -sf script of a twin device (its environment holds only dhclient's variables
 *  plus LAB_RUN, passed with `-e`). It sets the lease address and hands the lease to the agent. */
export const DHCLIENT_SCRIPT = `#!/bin/sh
# dhclient -sf script of a twin device (src/lab/ztp.ts). Never touches /etc/resolv.conf.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
case "$reason" in
  PREINIT)
    ip link set dev "$interface" up
    ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
      ip -4 addr del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
    fi
    ip -4 addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" || exit 1
    env | grep -E '^(new_[a-z0-9_]+|reason|interface)=' > "$LAB_RUN/lease.env.tmp"
    mv "$LAB_RUN/lease.env.tmp" "$LAB_RUN/lease.env"
    [ -f "$LAB_RUN/agent.pid" ] && kill -USR2 "$(cat "$LAB_RUN/agent.pid")" 2>/dev/null
    ;;
  EXPIRE|FAIL|RELEASE|STOP)
    # once bootstrapped the device keeps its address (the service pins it)
    if [ ! -f "$LAB_RUN/bootstrapped" ] && [ -n "$old_ip_address" ]; then
      ip -4 addr del "$old_ip_address/$old_subnet_mask" dev "$interface" 2>/dev/null
    fi
    ;;
esac
exit 0
`;

/** dhclient.conf of a twin device: identity options out, ZTP options in. */
export function dhclientConf(vendorClass: string, serial: string): string {
  const hex = ['00', ...Buffer.from(serial, 'latin1').toString('hex').match(/../g)!].join(':');
  return [
    'option ztp-tftp-servers code 150 = array of ip-address;',
    `send vendor-class-identifier "${vendorClass}";`,
    `send dhcp-client-identifier ${hex};`,
    `send host-name "${serial}";`,
    'request subnet-mask, broadcast-address, routers, vendor-encapsulated-options, tftp-server-name, bootfile-name, ztp-tftp-servers, dhcp-server-identifier;',
    'timeout 60;',
    'retry 10;',
    // a device in factory default asks often: at most 5 s between DISCOVERs
    'initial-interval 1;',
    'backoff-cutoff 5;',
    '',
  ].join('\n');
}
