// The device agent's NETCONF face (docs/device-agent.md §3-7), built on the shared server core
// (src/lab/netconf-server): the `frr` config envelope, validate/apply hooks, operational state,
// facts and install-software.
import { RpcError } from '../../netconf/errors';
import { child, childText, elements, escapeText, parseFragment, textOf, type XmlElement } from '../../netconf/xml';
import { loadConfigurationHandler, mergeConfig, type DeviceHooks, type NetconfDevice, type RpcHandler } from '../netconf-server';
import type { Device, FrrConfig } from './device';
import { ValidationError } from './device';

export const NS_FRR = 'urn:fabric:frr';
export const NS_DEVICE = 'urn:fabric:device';
export const NS_IF = 'urn:ietf:params:xml:ns:yang:ietf-interfaces';
export const NS_SYS = 'urn:ietf:params:xml:ns:yang:ietf-system';
export const NS_HW = 'urn:ietf:params:xml:ns:yang:ietf-hardware';
export const CAP_FRR = 'urn:fabric:frr?module=fabric-frr&revision=2026-11-22';
export const CAP_DEVICE = 'urn:fabric:device?module=fabric-device&revision=2026-11-22';

/** `<frr xmlns="urn:fabric:frr"><frr-conf>..</frr-conf><interfaces>..</interfaces></frr>` (empty config: '') */
export function wrapFrr(c: FrrConfig): string {
  if (!c.frrConf && !c.interfaces) return '';
  return `<frr xmlns="${NS_FRR}"><frr-conf>${escapeText(c.frrConf)}</frr-conf><interfaces>${escapeText(c.interfaces)}</interfaces></frr>`;
}

/** The datastore fragment -> frr.conf + interfaces text; anything else in it is refused. */
export function unwrapFrr(xml: string): FrrConfig {
  const nodes = parseFragment(xml).filter((n): n is XmlElement => n.type === 'element');
  const out: FrrConfig = { frrConf: '', interfaces: '' };
  for (const el of nodes) {
    if (el.name !== 'frr' || (el.ns !== NS_FRR && el.ns !== '')) {
      throw new RpcError('unknown-element', `unknown configuration element <${el.name}> (this device takes <frr xmlns="${NS_FRR}">)`, {
        type: 'application', path: `/config/${el.name}`, info: { 'bad-element': el.name },
      });
    }
    for (const c of elements(el)) {
      if (c.name === 'frr-conf') out.frrConf = textOf(c);
      else if (c.name === 'interfaces') out.interfaces = textOf(c);
      else throw new RpcError('unknown-element', `unknown element <${c.name}> in <frr> (frr-conf, interfaces)`, { path: `/config/frr/${c.name}`, info: { 'bad-element': c.name } });
    }
  }
  return out;
}

export function hooksFor(dev: Device, log: (m: string) => void): DeviceHooks {
  return {
    validate: async (config) => {
      const c = unwrapFrr(config);
      try {
        await dev.validate(c);
      } catch (e) {
        if (e instanceof ValidationError) throw new RpcError('invalid-value', e.message, { type: 'application', path: '/config/frr' });
        throw e;
      }
    },
    apply: async (config, ctx) => {
      const next = unwrapFrr(config);
      try {
        await dev.apply(next);
        log(`applied config (${ctx.reason})`);
      } catch (e) {
        // leave FRR and the kernel as they were: re-apply what is still the running config
        log(`apply failed (${ctx.reason}): ${(e as Error).message}; restoring the previous config`);
        if (ctx.reason !== 'rollback') {
          try { await dev.apply(unwrapFrr(ctx.previous)); } catch (e2) { log(`restore failed: ${(e2 as Error).message}`); }
        }
        throw new RpcError('operation-failed', (e as Error).message, { type: 'application' });
      }
    },
    getState: () => operationalState(dev),
  };
}

async function operationalState(dev: Device): Promise<string> {
  const [ifs, lldp, [bgp, routes, bfd, es]] = await Promise.all([
    dev.interfaces(),
    dev.lldpNeighbors(),
    dev.vtyshJsonMany(['show bgp vrf all summary json', 'show ip route json', 'show bfd peers json', 'show evpn es detail json']),
  ]);
  const x = escapeText;
  let s = `<interfaces xmlns="${NS_IF}">`;
  for (const i of ifs) {
    s += `<interface><name>${x(i.name)}</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:${i.type}</type>`;
    s += `<oper-status>${i.operUp ? 'up' : 'down'}</oper-status>`;
    if (i.mac) s += `<phys-address>${x(i.mac)}</phys-address>`;
    s += `<mtu xmlns="${NS_DEVICE}">${i.mtu}</mtu>`;
    if (i.master) s += `<master xmlns="${NS_DEVICE}">${x(i.master)}</master>`;
    for (const a of i.addresses) s += `<address xmlns="${NS_DEVICE}">${x(a)}</address>`;
    s += '</interface>';
  }
  s += '</interfaces>';
  s += systemState(dev) + hardwareState(dev);
  s += `<frr-state xmlns="${NS_FRR}"><bgp>`;
  const doc = (bgp ?? {}) as Record<string, Record<string, { routerId?: string; as?: number; peers?: Record<string, { remoteAs?: number; state?: string; pfxRcd?: number; peerUptime?: string; hostname?: string }> }>>;
  for (const [vrf, afis] of Object.entries(doc)) {
    if (!afis || typeof afis !== 'object') continue;
    for (const [afi, v] of Object.entries(afis)) {
      if (!v || typeof v !== 'object' || !v.peers) continue;
      for (const [peer, p] of Object.entries(v.peers)) {
        s += `<neighbor><address>${x(peer)}</address><vrf>${x(vrf)}</vrf><afi>${x(afi)}</afi>`;
        if (v.as !== undefined) s += `<local-as>${v.as}</local-as>`;
        if (p.remoteAs !== undefined) s += `<remote-as>${p.remoteAs}</remote-as>`;
        s += `<state>${x(p.state ?? 'Unknown')}</state>`;
        if (p.pfxRcd !== undefined) s += `<prefixes-received>${p.pfxRcd}</prefixes-received>`;
        if (p.hostname) s += `<peer-hostname>${x(p.hostname)}</peer-hostname>`;
        if (p.peerUptime) s += `<uptime>${x(p.peerUptime)}</uptime>`;
        s += '</neighbor>';
      }
    }
  }
  s += '</bgp><routes>';
  const r = (routes ?? {}) as Record<string, { protocol?: string; selected?: boolean; nexthops?: { ip?: string; interfaceName?: string; active?: boolean }[] }[]>;
  for (const [prefix, entries] of Object.entries(r)) {
    for (const e of entries) {
      if (!e.selected) continue;
      s += `<route><prefix>${x(prefix)}</prefix><protocol>${x(e.protocol ?? '')}</protocol>`;
      for (const nh of e.nexthops ?? []) {
        s += `<nexthop>${nh.ip ? `<address>${x(nh.ip)}</address>` : ''}${nh.interfaceName ? `<interface>${x(nh.interfaceName)}</interface>` : ''}</nexthop>`;
      }
      s += '</route>';
    }
  }
  s += '</routes><bfd>';
  // `show bfd peers json`: an array of sessions; status is FRR's word (up, down, init, ...).
  const peers = (Array.isArray(bfd) ? bfd : []) as { peer?: string; vrf?: string; interface?: string; local?: string; multihop?: boolean; status?: string; uptime?: number; downtime?: number }[];
  for (const p of peers) {
    if (!p || typeof p.peer !== 'string') continue;
    s += `<peer><address>${x(p.peer)}</address><vrf>${x(p.vrf ?? 'default')}</vrf>`;
    if (p.interface) s += `<interface>${x(p.interface)}</interface>`;
    if (p.local) s += `<local-address>${x(p.local)}</local-address>`;
    s += `<multihop>${p.multihop === true}</multihop><status>${x(p.status ?? 'unknown')}</status>`;
    if (typeof p.uptime === 'number') s += `<uptime>${p.uptime}</uptime>`;
    s += '</peer>';
  }
  s += '</bfd><lldp>';
  for (const n of lldp) {
    s += `<neighbor><local-port>${x(n.localPort)}</local-port>`;
    if (n.remoteSystem) s += `<remote-system-name>${x(n.remoteSystem)}</remote-system-name>`;
    if (n.remotePort) s += `<remote-port>${x(n.remotePort)}</remote-port>`;
    if (n.remoteChassisId) s += `<remote-chassis-id>${x(n.remoteChassisId)}</remote-chassis-id>`;
    if (n.remoteMgmt) s += `<remote-management-address>${x(n.remoteMgmt)}</remote-management-address>`;
    s += '</neighbor>';
  }
  s += `</lldp>${evpnEsState(es)}<phase>${dev.phase}</phase></frr-state>`;
  return s;
}

/**
 * zebra's `show evpn es detail json` (an array: esi, accessPort, flags local/remote/df/nonDF/
 * operUp/readyForBgp..., vteps [{vtep}]) as <evpn-es><es>; the maintenance drain verifies the
 * device's ES is down and not DF, and its peer's is (src/jobs/maintenance/esi-state.ts).
 */
export function evpnEsState(doc: unknown): string {
  const x = escapeText;
  const list = (Array.isArray(doc) ? doc : []) as { esi?: string; accessPort?: string; flags?: unknown[]; dfPreference?: number; vteps?: { vtep?: string }[] }[];
  let s = '<evpn-es>';
  for (const e of list) {
    if (!e || typeof e.esi !== 'string') continue;
    s += `<es><esi>${x(e.esi)}</esi>${typeof e.accessPort === 'string' ? `<access-port>${x(e.accessPort)}</access-port>` : ''}`;
    for (const f of e.flags ?? []) if (typeof f === 'string') s += `<flag>${x(f)}</flag>`;
    if (typeof e.dfPreference === 'number') s += `<df-preference>${e.dfPreference}</df-preference>`;
    for (const v of e.vteps ?? []) if (v && typeof v.vtep === 'string') s += `<vtep>${x(v.vtep)}</vtep>`;
    s += '</es>';
  }
  return `${s}</evpn-es>`;
}

function systemState(dev: Device): string {
  const x = escapeText;
  return `<system-state xmlns="${NS_SYS}"><platform><os-name>FRR</os-name><os-release>${x(dev.state.osVersion ?? '')}</os-release>` +
    `<os-version>${x(dev.state.osVersion ?? '')}</os-version><machine>${x(dev.cfg.model)}</machine></platform>` +
    `<clock><current-datetime>${new Date().toISOString()}</current-datetime></clock>` +
    `<hostname xmlns="${NS_DEVICE}">${x(dev.hostname())}</hostname></system-state>`;
}

function hardwareState(dev: Device): string {
  const x = escapeText;
  return `<hardware xmlns="${NS_HW}"><component><name>chassis</name>` +
    `<class xmlns:ianahw="urn:ietf:params:xml:ns:yang:iana-hardware">ianahw:chassis</class>` +
    `<mfg-name>${x(dev.cfg.vendor)}</mfg-name><model-name>${x(dev.cfg.model)}</model-name>` +
    `<serial-num>${x(dev.cfg.serial)}</serial-num><software-rev>${x(dev.state.osVersion ?? '')}</software-rev></component></hardware>`;
}

/** `<get-facts xmlns="urn:fabric:device"/>` */
export function factsRpc(dev: Device): RpcHandler {
  return async () => {
    const ifs = await dev.interfaces();
    const x = escapeText;
    let s = `<facts xmlns="${NS_DEVICE}"><hostname>${x(dev.hostname())}</hostname><vendor>${x(dev.cfg.vendor)}</vendor>` +
      `<model>${x(dev.cfg.model)}</model><serial-number>${x(dev.cfg.serial)}</serial-number><os-name>FRR</os-name>` +
      `<os-version>${x(dev.state.osVersion ?? '')}</os-version>`;
    if (dev.state.managementIp) s += `<management-address>${x(dev.state.managementIp)}</management-address>`;
    s += '<interfaces>';
    for (const i of ifs) {
      if (i.name === 'lo') continue;
      s += `<interface><name>${x(i.name)}</name><oper-status>${i.operUp ? 'up' : 'down'}</oper-status>${i.mac ? `<phys-address>${x(i.mac)}</phys-address>` : ''}</interface>`;
    }
    s += '</interfaces></facts>';
    return { xml: s };
  };
}

/**
 * Junos-style `<load-configuration action="merge|replace|override" format="xml|text">`:
 * format xml carries `<configuration><frr xmlns="urn:fabric:frr">..</frr></configuration>` (or the
 * `<frr>` element directly); format text carries `<configuration-text>` = a whole frr.conf (the
 * interfaces text of the candidate is kept).
 */
export const loadConfigurationRpc: RpcHandler = loadConfigurationHandler({
  text: ({ device }, t) => wrapFrr({ frrConf: textOf(t), interfaces: unwrapFrr(device.candidate).interfaces }),
  xml: ({ device, op }, action) => {
    const c = child(op, 'configuration');
    const inner = c ? c.source.slice(c.innerStart, c.innerEnd) : op.source.slice(op.innerStart, op.innerEnd);
    unwrapFrr(inner); // refuse foreign elements before touching the candidate
    return action === 'merge' ? mergeConfig(device.candidate, inner, 'merge') : mergeConfig('', inner, 'replace');
  },
});

/** install-software's fields, validated (the agent and the scale simulator answer the same request). */
export function parseInstallSoftware(op: XmlElement): { version: string; url?: string; rebootSeconds?: number } {
  const version = childText(op, 'version');
  if (!version || !/^[A-Za-z0-9._+-]{1,64}$/.test(version)) {
    throw new RpcError('missing-element', 'install-software needs <version> (1-64 of [A-Za-z0-9._+-])', { info: { 'bad-element': 'version' } });
  }
  const url = childText(op, 'image-url');
  if (url !== undefined && !/^(https?|ftp|tftp|file):\/\/\S+$/.test(url)) {
    throw new RpcError('invalid-value', `image-url '${url}' is not a URL`, { path: '/rpc/install-software/image-url' });
  }
  const secsT = childText(op, 'reboot-seconds');
  const secs = secsT === undefined ? undefined : Number(secsT);
  if (secs !== undefined && (!Number.isInteger(secs) || secs < 0 || secs > 600)) throw new RpcError('invalid-value', 'reboot-seconds must be 0-600', { path: '/rpc/install-software/reboot-seconds' });
  return { version, ...(url !== undefined ? { url } : {}), ...(secs !== undefined ? { rebootSeconds: secs } : {}) };
}

/** `<install-software xmlns="urn:fabric:device"><version>..</version><image-url>..</image-url><reboot-seconds>..</reboot-seconds></install-software>` */
export function installSoftwareRpc(dev: Device, reboot: (version: string, seconds: number) => void): RpcHandler {
  return ({ op }) => {
    const req = parseInstallSoftware(op);
    const version = req.version;
    const secs = req.rebootSeconds ?? dev.cfg.rebootSeconds ?? 5;
    if (dev.phase === 'rebooting') throw new RpcError('in-use', 'the device is rebooting');
    // answer first, then go down (the reply must leave before the session closes)
    setTimeout(() => reboot(version, secs), 200).unref();
    return { xml: `<install-software-result xmlns="${NS_DEVICE}"><previous-version>${escapeText(dev.state.osVersion ?? '')}</previous-version><version>${escapeText(version)}</version><rebooting/></install-software-result>` };
  };
}

export type { NetconfDevice };
