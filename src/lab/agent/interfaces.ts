// ifupdown2-style interfaces text (as on Cumulus Linux) -> kernel netdevs, and the `ip` commands
// reconciling the kernel from one version to the next. Parsing and planning are pure; the agent
// runs the commands. Netdevs whose creation parameters did not change are kept (only mutable
// attributes are set again), so nothing that did not change goes down.

export type NetdevKind = 'bridge' | 'vxlan' | 'bond' | 'vlan' | 'vrf' | 'port';

export interface Iface {
  name: string;
  kind: NetdevKind;
  auto: boolean;
  /** key -> values, as written (multi-valued keys like address keep every line) */
  attrs: Map<string, string[]>;
  line: number;
}

export class InterfacesError extends Error {}

const KNOWN_KEYS = new Set([
  'address', 'mtu', 'alias', 'hwaddress', 'vrf', 'link-down',
  'bridge-ports', 'bridge-vlan-aware', 'bridge-stp', 'bridge-vids', 'bridge-pvid', 'bridge-access', 'bridge-learning',
  'bridge-arp-nd-suppress', 'bridge-mcsnoop',
  'vxlan-id', 'vxlan-local-tunnelip', 'vxlan-dstport', 'vxlan-remoteip', 'vxlan-ttl',
  'bond-slaves', 'bond-mode', 'bond-lacp-rate', 'bond-min-links', 'bond-miimon', 'bond-xmit-hash-policy', 'es-sys-mac', 'es-id', 'es-df-pref',
  'vlan-id', 'vlan-raw-device', 'vlan-protocol',
  'vrf-table',
]);

/** ifupdown2's spellings of a boolean key. */
const ON = new Set(['on', 'yes', '1']);
const ONOFF = new Set([...ON, 'off', 'no', '0']);

export function parseInterfaces(text: string): Iface[] {
  const byName = new Map<string, Iface>();
  const autos = new Set<string>();
  let cur: Iface | undefined;
  // `port-filter` stanzas (security groups) are filters.ts's: skipped here up to the next stanza.
  let filter = false;
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [kw, ...rest] = line.split(/\s+/);
    if (kw === 'port-filter') { filter = true; cur = undefined; return; }
    if (kw === 'auto' || kw === 'iface') filter = false;
    if (filter) return;
    if (kw === 'auto') {
      for (const n of rest) autos.add(n);
      cur = undefined;
      return;
    }
    if (kw === 'iface') {
      const name = rest[0];
      if (!name || !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new InterfacesError(`interfaces line ${lineNo}: invalid interface name "${name ?? ''}"`);
      if (byName.has(name)) throw new InterfacesError(`interfaces line ${lineNo}: iface ${name} given twice`);
      // `iface x inet static` etc.: the method is accepted and ignored
      cur = { name, kind: 'port', auto: false, attrs: new Map(), line: lineNo };
      byName.set(name, cur);
      return;
    }
    if (kw === 'source' || kw === 'source-directory' || kw === 'allow-hotplug') {
      throw new InterfacesError(`interfaces line ${lineNo}: "${kw}" is not supported (give the whole text)`);
    }
    if (!cur) throw new InterfacesError(`interfaces line ${lineNo}: "${kw}" outside an iface stanza`);
    if (!KNOWN_KEYS.has(kw)) throw new InterfacesError(`interfaces line ${lineNo}: unknown key "${kw}" in iface ${cur.name}`);
    if (rest.length === 0) throw new InterfacesError(`interfaces line ${lineNo}: ${kw} needs a value`);
    const list = cur.attrs.get(kw) ?? [];
    list.push(rest.join(' '));
    cur.attrs.set(kw, list);
  });
  const out = [...byName.values()];
  for (const f of out) {
    f.auto = autos.has(f.name);
    f.kind = kindOf(f);
  }
  for (const f of out) validate(f, byName); // after every kind is known: a port's checks look at its bridge
  return out;
}

function one(f: Iface, k: string): string | undefined {
  return f.attrs.get(k)?.[f.attrs.get(k)!.length - 1];
}

function kindOf(f: Iface): NetdevKind {
  if (f.attrs.has('vrf-table')) return 'vrf';
  if (f.attrs.has('vxlan-id')) return 'vxlan';
  if (f.attrs.has('bond-slaves')) return 'bond';
  if (f.attrs.has('bridge-ports') || f.attrs.has('bridge-vlan-aware')) return 'bridge';
  if (f.attrs.has('vlan-id') || f.attrs.has('vlan-raw-device') || /^[A-Za-z0-9_-]+\.\d+$/.test(f.name)) return 'vlan';
  return 'port';
}

function validate(f: Iface, all: Map<string, Iface>): void {
  const where = `interfaces line ${f.line} (iface ${f.name})`;
  const num = (k: string, min: number, max: number): void => {
    const v = one(f, k);
    if (v !== undefined && (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)) throw new InterfacesError(`${where}: ${k} must be ${min}-${max}`);
  };
  num('mtu', 68, 65535);
  num('vxlan-id', 1, 16777215);
  num('vxlan-dstport', 1, 65535);
  num('vlan-id', 1, 4094);
  num('bridge-access', 1, 4094);
  num('bridge-pvid', 1, 4094);
  num('bond-min-links', 0, 64);
  for (const a of f.attrs.get('address') ?? []) {
    if (!/^[0-9.]+\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/.test(a)) throw new InterfacesError(`${where}: address "${a}" is not an address with prefix length`);
  }
  if (f.kind === 'vlan' && vlanParams(f) === undefined) throw new InterfacesError(`${where}: a VLAN needs vlan-id and vlan-raw-device, or a name like swp1.100`);
  if (f.kind === 'vrf') {
    const t = one(f, 'vrf-table')!;
    if (t !== 'auto' && !/^\d+$/.test(t)) throw new InterfacesError(`${where}: vrf-table must be auto or a number`);
  }
  const vrf = one(f, 'vrf');
  if (vrf && all.get(vrf)?.kind !== 'vrf') throw new InterfacesError(`${where}: vrf ${vrf} is not an iface with vrf-table`);
  if (f.kind === 'vxlan' && one(f, 'vxlan-local-tunnelip') && !/^[0-9.]+$/.test(one(f, 'vxlan-local-tunnelip')!)) {
    throw new InterfacesError(`${where}: vxlan-local-tunnelip must be an IPv4 address`);
  }
  for (const k of ['hwaddress', 'es-sys-mac']) {
    const v = one(f, k);
    if (v !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) throw new InterfacesError(`${where}: ${k} "${v}" is not a MAC address`);
  }
  if (one(f, 'es-sys-mac') && (f.kind !== 'bond' || one(f, 'bond-mode') !== '802.3ad')) {
    throw new InterfacesError(`${where}: es-sys-mac belongs on an 802.3ad bond (its LACP actor system)`);
  }
  // The Ethernet segment itself is FRR's (`evpn mh es-id`/`es-df-pref` in frr.conf): accepting
  // these here and applying nothing would hide a missing frr.conf line, so they are refused.
  for (const k of ['es-id', 'es-df-pref']) {
    if (f.attrs.has(k)) throw new InterfacesError(`${where}: ${k} is not applied by this agent; put "evpn mh ${k}" under the interface in frr.conf`);
  }
  // The rest is applied as the kernel allows (planReconcile); what it cannot apply is refused here.
  if (f.attrs.has('bridge-mcsnoop') && f.kind !== 'bridge') throw new InterfacesError(`${where}: bridge-mcsnoop belongs on a bridge`);
  const stp = one(f, 'bridge-stp');
  if (stp !== undefined && ON.has(stp)) throw new InterfacesError(`${where}: bridge-stp on is not applied by this agent (its bridges run without STP)`);
  if (f.attrs.has('vxlan-remoteip')) throw new InterfacesError(`${where}: vxlan-remoteip (static flooding) is not applied by this agent; EVPN type-3 routes give the flood list`);
  const proto = one(f, 'vlan-protocol');
  if (proto !== undefined && !['802.1q', '802.1ad'].includes(proto.toLowerCase())) throw new InterfacesError(`${where}: vlan-protocol must be 802.1q or 802.1ad`);
  const hash = one(f, 'bond-xmit-hash-policy');
  if (hash !== undefined && !['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'].includes(hash)) throw new InterfacesError(`${where}: bond-xmit-hash-policy "${hash}" unknown`);
  if (one(f, 'alias') !== undefined && !/^[\x20-\x7e]{1,128}$/.test(one(f, 'alias')!)) throw new InterfacesError(`${where}: alias must be printable, at most 128 characters`);
  // VLAN membership keys and bridge-port keys need the bridge they act on
  const bridgeOf = [...all.values()].find((b) => b.kind === 'bridge' && (b.attrs.get('bridge-ports') ?? []).join(' ').split(/\s+/).includes(f.name));
  const aware = (b: Iface | undefined) => !!b && ON.has(one(b, 'bridge-vlan-aware') ?? '');
  for (const k of ['bridge-vids', 'bridge-pvid', 'bridge-access']) {
    if (f.attrs.has(k) && !(f.kind === 'bridge' ? aware(f) && k !== 'bridge-access' : aware(bridgeOf))) {
      throw new InterfacesError(`${where}: ${k} needs ${f.kind === 'bridge' ? 'bridge-vlan-aware yes on this bridge' : 'a port of a bridge with bridge-vlan-aware yes'}`);
    }
  }
  for (const k of ['bridge-learning', 'bridge-arp-nd-suppress']) {
    if (f.attrs.has(k) && !bridgeOf) throw new InterfacesError(`${where}: ${k} is a bridge port setting; ${f.name} is in no bridge-ports`);
  }
  if (mode8023ad(f) === false) {
    for (const k of ['bond-lacp-rate', 'bond-min-links']) if (f.attrs.has(k)) throw new InterfacesError(`${where}: ${k} needs bond-mode 802.3ad`);
  }
  for (const k of ['bridge-arp-nd-suppress', 'bridge-mcsnoop', 'bridge-learning', 'bridge-stp']) {
    const v = one(f, k);
    if (v !== undefined && !ONOFF.has(v)) throw new InterfacesError(`${where}: ${k} must be on or off`);
  }
  const mode = one(f, 'bond-mode');
  if (mode && !['802.3ad', 'active-backup', 'balance-rr', 'balance-xor', 'broadcast', 'balance-tlb', 'balance-alb'].includes(mode)) {
    throw new InterfacesError(`${where}: bond-mode "${mode}" unknown`);
  }
}

/** undefined: not a bond */
function mode8023ad(f: Iface): boolean | undefined {
  return f.kind === 'bond' ? one(f, 'bond-mode') === '802.3ad' : undefined;
}

function vlanParams(f: Iface): { id: number; raw: string } | undefined {
  const id = one(f, 'vlan-id');
  const raw = one(f, 'vlan-raw-device');
  const m = /^(.+)\.(\d+)$/.exec(f.name);
  const vid = id ? Number(id) : m ? Number(m[2]) : undefined;
  const dev = raw ?? (m ? m[1] : undefined);
  if (vid === undefined || !dev) return undefined;
  return { id: vid, raw: dev };
}

/** Kernel features an interfaces text needs (checked against the kernel at validate). */
export function featuresNeeded(ifaces: Iface[]): string[] {
  const need = new Set<string>();
  for (const f of ifaces) {
    if (f.kind === 'bond') need.add('bond');
    if (f.kind === 'vlan') need.add('vlan');
    if (f.kind === 'vrf') need.add('vrf');
    if (f.kind === 'vxlan') need.add('vxlan');
    if (f.kind === 'bridge') need.add('bridge');
    if (f.kind === 'bridge' && ['yes', 'on'].includes(one(f, 'bridge-vlan-aware') ?? '')) need.add('vlan-filtering');
  }
  return [...need];
}

/** What identifies a netdev's creation; a change means delete and create again. */
export function creationSignature(f: Iface): string {
  switch (f.kind) {
    case 'vxlan':
      return `vxlan id ${one(f, 'vxlan-id')} local ${one(f, 'vxlan-local-tunnelip') ?? '-'} dstport ${one(f, 'vxlan-dstport') ?? '4789'} ttl ${one(f, 'vxlan-ttl') ?? '-'}`;
    case 'bond':
      return `bond mode ${one(f, 'bond-mode') ?? 'balance-rr'} actor ${one(f, 'es-sys-mac') ?? '-'} hash ${one(f, 'bond-xmit-hash-policy') ?? '-'}`;
    case 'vlan': {
      const p = vlanParams(f)!;
      return `vlan ${p.raw} ${p.id} ${one(f, 'vlan-protocol') ?? '802.1q'}`;
    }
    case 'vrf':
      return `vrf table ${one(f, 'vrf-table')}`;
    case 'bridge':
      return `bridge vlan-aware ${['yes', 'on'].includes(one(f, 'bridge-vlan-aware') ?? '') ? 1 : 0}`;
    default:
      return 'port';
  }
}

export interface NetdevState {
  /** netdevs the agent created: name -> creation signature */
  created: Record<string, string>;
  /** addresses the agent set from the interfaces text: name -> CIDRs */
  addresses: Record<string, string[]>;
  /** ports the agent enslaved: name -> master */
  masters: Record<string, string>;
}

export const EMPTY_NETDEV_STATE: NetdevState = { created: {}, addresses: {}, masters: {} };

export interface ReconcilePlan {
  commands: string[][];
  state: NetdevState;
}

let vrfTableNext = 1001;

/**
 * Commands taking the kernel from `prev` (what the agent made before) to `ifaces`.
 * `existing` lists the netdevs present now (so a vanished netdev is recreated).
 */
export function planReconcile(ifaces: Iface[], prev: NetdevState, existingNow: ReadonlySet<string>): ReconcilePlan {
  const existing = new Set(existingNow); // planning never mutates its input
  const cmds: string[][] = [];
  const ip = (...a: string[]): void => { cmds.push(['ip', ...a]); };
  const want = new Map(ifaces.map((f) => [f.name, f]));
  const next: NetdevState = { created: {}, addresses: {}, masters: {} };

  // 1. remove what is no longer wanted, or whose creation parameters changed
  for (const [name, sig] of Object.entries(prev.created)) {
    const f = want.get(name);
    if (!f || f.kind === 'port' || creationSignature(f) !== sig) {
      if (existing.has(name)) ip('link', 'del', name);
      existing.delete(name);
    }
  }
  // 2. ports no longer enslaved where they were
  const masterOf = new Map<string, string>();
  for (const f of ifaces) {
    for (const key of ['bridge-ports', 'bond-slaves']) {
      for (const p of (f.attrs.get(key) ?? []).join(' ').split(/\s+/).filter(Boolean)) masterOf.set(p, f.name);
    }
    const vrf = one(f, 'vrf');
    if (vrf) masterOf.set(f.name, vrf);
  }
  for (const [port, master] of Object.entries(prev.masters)) {
    if (masterOf.get(port) !== master && existing.has(port)) ip('link', 'set', port, 'nomaster');
  }
  // 3. create, in dependency order
  const order: NetdevKind[] = ['vrf', 'bond', 'vlan', 'vxlan', 'bridge'];
  for (const kind of order) {
    for (const f of ifaces.filter((x) => x.kind === kind)) {
      const sig = creationSignature(f);
      next.created[f.name] = sig;
      if (existing.has(f.name) && prev.created[f.name] === sig) continue;
      if (existing.has(f.name)) ip('link', 'del', f.name);
      switch (kind) {
        case 'vrf': {
          const t = one(f, 'vrf-table')!;
          ip('link', 'add', f.name, 'type', 'vrf', 'table', t === 'auto' ? String(vrfTableNext++) : t);
          break;
        }
        case 'bond': {
          const a = ['link', 'add', f.name, 'type', 'bond', 'mode', one(f, 'bond-mode') ?? 'balance-rr'];
          if ((one(f, 'bond-mode') ?? '') === '802.3ad') {
            a.push('lacp_rate', one(f, 'bond-lacp-rate') === '1' || one(f, 'bond-lacp-rate') === 'fast' ? 'fast' : 'slow');
            if (one(f, 'bond-min-links')) a.push('min_links', one(f, 'bond-min-links')!);
            // Both legs of an ESI-LAG present one LACP system (es-sys-mac) so the server sees one
            // partner; set at creation (part of the creation signature).
            if (one(f, 'es-sys-mac')) a.push('ad_actor_system', one(f, 'es-sys-mac')!);
          }
          if (one(f, 'bond-miimon')) a.push('miimon', one(f, 'bond-miimon')!);
          if (one(f, 'bond-xmit-hash-policy')) a.push('xmit_hash_policy', one(f, 'bond-xmit-hash-policy')!);
          ip(...a);
          break;
        }
        case 'vlan': {
          const p = vlanParams(f)!;
          ip('link', 'add', 'link', p.raw, 'name', f.name, 'type', 'vlan', ...(one(f, 'vlan-protocol') ? ['protocol', one(f, 'vlan-protocol')!.toLowerCase()] : []), 'id', String(p.id));
          break;
        }
        case 'vxlan': {
          const a = ['link', 'add', f.name, 'type', 'vxlan', 'id', one(f, 'vxlan-id')!, 'dstport', one(f, 'vxlan-dstport') ?? '4789', 'nolearning'];
          if (one(f, 'vxlan-local-tunnelip')) a.push('local', one(f, 'vxlan-local-tunnelip')!);
          if (one(f, 'vxlan-ttl')) a.push('ttl', one(f, 'vxlan-ttl')!);
          ip(...a);
          break;
        }
        case 'bridge': {
          const aware = ['yes', 'on'].includes(one(f, 'bridge-vlan-aware') ?? '');
          ip('link', 'add', f.name, 'type', 'bridge', ...(aware ? ['vlan_filtering', '1'] : []), 'stp_state', '0');
          break;
        }
        default:
      }
    }
  }
  // 4. enslave (bond slaves must be down first), mtu, addresses, up
  for (const [port, master] of masterOf) {
    next.masters[port] = master;
    if (prev.masters[port] === master && existing.has(port) && existing.has(master)) continue;
    if (want.get(master)?.kind === 'bond') ip('link', 'set', port, 'down');
    ip('link', 'set', port, 'master', master);
  }
  for (const f of ifaces) {
    if (one(f, 'mtu')) ip('link', 'set', f.name, 'mtu', one(f, 'mtu')!);
    if (one(f, 'hwaddress')) ip('link', 'set', f.name, 'address', one(f, 'hwaddress')!);
    if (one(f, 'alias') !== undefined) ip('link', 'set', f.name, 'alias', one(f, 'alias')!);
    // learning is a bridge-port attribute: on a port of a bridge named in bridge-ports
    const learning = one(f, 'bridge-learning');
    if (learning !== undefined && want.get(masterOf.get(f.name) ?? '')?.kind === 'bridge') cmds.push(['bridge', 'link', 'set', 'dev', f.name, 'learning', ON.has(learning) ? 'on' : 'off']);
    const snoop = one(f, 'bridge-mcsnoop');
    if (snoop !== undefined) ip('link', 'set', f.name, 'type', 'bridge', 'mcast_snooping', ON.has(snoop) ? '1' : '0');
    // neigh_suppress is a bridge-port attribute: set after the port is enslaved (above).
    const suppress = one(f, 'bridge-arp-nd-suppress');
    if (suppress !== undefined) cmds.push(['bridge', 'link', 'set', 'dev', f.name, 'neigh_suppress', ON.has(suppress) ? 'on' : 'off']);
    const addrs = f.attrs.get('address') ?? [];
    next.addresses[f.name] = addrs;
    for (const a of prev.addresses[f.name] ?? []) if (!addrs.includes(a)) ip('addr', 'del', a, 'dev', f.name);
    for (const a of addrs) ip('addr', 'replace', a, 'dev', f.name);
  }
  // VLAN-aware bridges: member VLANs (ifupdown2: bridge-vids / bridge-pvid / bridge-access on a
  // port, bridge-vids on the bridge as the default of its ports and for the bridge itself).
  // Adding is idempotent; VLANs dropped from the text are not removed (documented limit).
  for (const br of ifaces.filter((x) => x.kind === 'bridge' && ['yes', 'on'].includes(one(x, 'bridge-vlan-aware') ?? ''))) {
    const brVids = (br.attrs.get('bridge-vids') ?? []).join(' ').split(/\s+/).filter(Boolean);
    for (const v of brVids) cmds.push(['bridge', 'vlan', 'add', 'dev', br.name, 'vid', v, 'self']);
    const members = (br.attrs.get('bridge-ports') ?? []).join(' ').split(/\s+/).filter(Boolean);
    for (const m of members) {
      const f = want.get(m);
      const access = f && one(f, 'bridge-access');
      if (access) {
        cmds.push(['bridge', 'vlan', 'add', 'dev', m, 'vid', access, 'pvid', 'untagged']);
        continue;
      }
      const vids = f?.attrs.get('bridge-vids') ? f.attrs.get('bridge-vids')!.join(' ').split(/\s+/).filter(Boolean) : brVids;
      for (const v of vids) cmds.push(['bridge', 'vlan', 'add', 'dev', m, 'vid', v]);
      const pvid = (f && one(f, 'bridge-pvid')) ?? one(br, 'bridge-pvid');
      if (pvid) cmds.push(['bridge', 'vlan', 'add', 'dev', m, 'vid', pvid, 'pvid', 'untagged']);
    }
  }
  for (const [name, addrs] of Object.entries(prev.addresses)) {
    if (!want.has(name) && existing.has(name)) for (const a of addrs) ip('addr', 'del', a, 'dev', name);
  }
  for (const f of ifaces) {
    if (one(f, 'link-down') === 'yes') ip('link', 'set', f.name, 'down');
    else ip('link', 'set', f.name, 'up');
  }
  // bond members come back up after enslaving, except those kept down (`link-down yes`: an
  // ESI-LAG leg taken out of service by maintenance mode)
  for (const [port, master] of masterOf) {
    const own = want.get(port);
    if (want.get(master)?.kind === 'bond' && !(own && one(own, 'link-down') === 'yes')) ip('link', 'set', port, 'up');
  }
  return { commands: cmds, state: next };
}
