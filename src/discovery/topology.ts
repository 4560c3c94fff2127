// LLDP neighbor tables of every device -> links, with cabling anomalies reported, never guessed.
// PURE: no IO. Input is what SNMP (or NETCONF operational state) read; output is what the
// store keeps (links with `anomaly?`) plus the list of anomalies for the job's result.
import { linkKey, type LinkEnd, type LinkSpec, type PhysicalRole } from '../domain/types';

/** One row of a device's LLDP remote table, local port already named. */
export interface LldpNeighbor {
  /** Local port name (lldpLocPortId when it is an ifname, else lldpLocPortDesc). */
  localPort: string;
  /** The raw lldpLocPortId of the local port, when it differs from its name. */
  localPortId?: string;
  remoteChassisId?: string;
  remoteSysName?: string;
  /** lldpRemPortId as the neighbor advertises it (an ifname with portidsubtype ifname). */
  remotePortId: string;
  remotePortIdSubtype?: number;
  remotePortDesc?: string;
}

export interface TopologyDevice {
  /** The fabric's name for the device. */
  name: string;
  physicalRole?: PhysicalRole;
  /** Other names a neighbor may advertise as its sysName: hostname, serial, FQDN... */
  aliases?: string[];
  /** Chassis IDs the device advertises (lldpLocChassisId), when known. */
  chassisIds?: string[];
  /** null/undefined: the device's table could not be read (its links are not judged one-sided). */
  neighbors?: LldpNeighbor[] | null;
}

export type AnomalyKind =
  | 'one-sided'       // seen from one end only
  | 'disagree'        // both ends report something, but not each other's port
  | 'leaf-leaf'       // kept, not addressed
  | 'outside-fabric'  // port cabled to a device not in the fabric
  | 'port-conflict'   // two links (neighbors) on one port
  | 'plan-missing'    // in the cabling plan, not found
  | 'plan-miswired'   // a planned port found cabled elsewhere
  | 'not-in-plan'     // found, not in the plan
  | 'bgp-mib';        // brownfield: BGP4-MIB (SNMP) and NETCONF disagree on a neighbour (src/discovery/bgp-mib.ts)

export interface Anomaly {
  kind: AnomalyKind;
  message: string;
  device?: string;
  port?: string;
  link?: LinkSpec;
}

export interface DiscoveredLink extends LinkSpec {
  /** false for links that must not get a /31 (leaf-leaf). */
  addressed: boolean;
  anomaly?: AnomalyKind;
}

export interface TopologyResult {
  links: DiscoveredLink[];
  anomalies: Anomaly[];
}

const fmt = (e: LinkEnd): string => `${e.device}:${e.port}`;

/** Orders the ends so results are deterministic: lower "device:port" first. */
function normalise(a: LinkEnd, b: LinkEnd): LinkSpec {
  return fmt(a) <= fmt(b) ? { a, b } : { a: b, b: a };
}

interface Resolved { from: TopologyDevice; n: LldpNeighbor; peer?: TopologyDevice }

export function buildTopology(
  devices: TopologyDevice[],
  opts: { cablingPlan?: LinkSpec[] } = {},
): TopologyResult {
  const anomalies: Anomaly[] = [];
  const byChassis = new Map<string, TopologyDevice>();
  const byName = new Map<string, TopologyDevice>();
  for (const d of devices) {
    for (const c of d.chassisIds ?? []) byChassis.set(c.toLowerCase(), d);
    for (const a of [d.name, ...(d.aliases ?? [])]) byName.set(a.toLowerCase(), d);
  }
  const resolve = (n: LldpNeighbor): TopologyDevice | undefined => {
    if (n.remoteChassisId) {
      const d = byChassis.get(n.remoteChassisId.toLowerCase());
      if (d) return d;
    }
    if (n.remoteSysName) {
      const s = n.remoteSysName.toLowerCase();
      return byName.get(s) ?? byName.get(s.split('.')[0]);
    }
    return undefined;
  };

  // Per device and local port: every neighbor reported there.
  const rows = new Map<string, Map<string, Resolved[]>>();
  for (const d of devices) {
    const ports = new Map<string, Resolved[]>();
    rows.set(d.name, ports);
    for (const n of d.neighbors ?? []) {
      const r: Resolved = { from: d, n, peer: resolve(n) };
      const list = ports.get(n.localPort) ?? [];
      list.push(r);
      ports.set(n.localPort, list);
    }
  }

  // Two or more neighbors on one port: reported, none of them becomes a link.
  const conflicted = new Set<string>();
  for (const [dev, ports] of rows) {
    for (const [port, list] of ports) {
      if (list.length > 1) {
        conflicted.add(`${dev}:${port}`);
        const who = list.map((r) => `${r.peer?.name ?? r.n.remoteSysName ?? r.n.remoteChassisId ?? '?'}:${r.n.remotePortId}`);
        anomalies.push({
          kind: 'port-conflict', device: dev, port,
          message: `${dev}:${port} has ${list.length} LLDP neighbors (${who.join(', ')}); not turned into links`,
        });
      }
    }
  }

  // Does `id` (a neighbor's view of one of dev's ports) name dev's local port `port`?
  const portIs = (dev: string, port: string, id: string): boolean => {
    if (id === port) return true;
    const list = rows.get(dev)?.get(port);
    return !!list?.some((r) => r.n.localPortId === id);
  };
  // dev's local port that neighbors know as `id`.
  const portById = (dev: string, id: string): string => {
    const ports = rows.get(dev);
    if (ports?.has(id)) return id;
    for (const [p, list] of ports ?? []) if (list.some((r) => r.n.localPortId === id)) return p;
    return id;
  };

  const links = new Map<string, DiscoveredLink>();
  const seen = new Set<string>(); // "dev:port" already judged
  for (const d of devices) {
    for (const [port, list] of rows.get(d.name) ?? []) {
      const here = `${d.name}:${port}`;
      if (conflicted.has(here) || seen.has(here)) continue;
      const r = list[0];
      if (!r.peer) {
        seen.add(here);
        anomalies.push({
          kind: 'outside-fabric', device: d.name, port,
          message: `${here} is cabled to ${r.n.remoteSysName ?? r.n.remoteChassisId ?? 'an unknown device'} port ${r.n.remotePortId}, which is not in the fabric`,
        });
        continue;
      }
      const peer = r.peer;
      const peerPort = portById(peer.name, r.n.remotePortId);
      const there = `${peer.name}:${peerPort}`;
      if (peer.name === d.name) {
        seen.add(here);
        anomalies.push({ kind: 'disagree', device: d.name, port, message: `${here} sees its own device (${there}): loop cable` });
        continue;
      }
      if (conflicted.has(there)) { seen.add(here); continue; } // reported with the conflict
      if (peer.neighbors == null) {
        seen.add(here);
        anomalies.push({
          kind: 'one-sided', device: d.name, port, link: normalise({ device: d.name, port }, { device: peer.name, port: peerPort }),
          message: `${here} sees ${there}, but ${peer.name}'s LLDP table could not be read`,
        });
        continue;
      }
      const back = rows.get(peer.name)?.get(peerPort)?.[0];
      if (!back) {
        seen.add(here);
        anomalies.push({
          kind: 'one-sided', device: d.name, port, link: normalise({ device: d.name, port }, { device: peer.name, port: peerPort }),
          message: `${here} sees ${there}, but ${there} reports no neighbor`,
        });
        continue;
      }
      if (back.peer !== d || !portIs(d.name, port, back.n.remotePortId)) {
        seen.add(here);
        seen.add(there);
        const backName = back.peer ? `${back.peer.name}:${portById(back.peer.name, back.n.remotePortId)}` : `${back.n.remoteSysName ?? '?'}:${back.n.remotePortId}`;
        anomalies.push({
          kind: 'disagree', device: d.name, port,
          message: `${here} sees ${there}, but ${there} sees ${backName}`,
        });
        continue;
      }
      seen.add(here);
      seen.add(there);
      const spec = normalise({ device: d.name, port }, { device: peer.name, port: peerPort });
      const leafLeaf = d.physicalRole === 'leaf' && peer.physicalRole === 'leaf';
      const link: DiscoveredLink = { ...spec, addressed: !leafLeaf };
      if (leafLeaf) {
        link.anomaly = 'leaf-leaf';
        anomalies.push({ kind: 'leaf-leaf', link: spec, message: `leaf-leaf link ${fmt(spec.a)} -- ${fmt(spec.b)}: kept, not addressed` });
      }
      links.set(linkKey(spec), link);
    }
  }

  if (opts.cablingPlan) anomalies.push(...diffPlan([...links.values()], opts.cablingPlan));
  const sorted = [...links.values()].sort((x, y) => linkKey(x).localeCompare(linkKey(y)));
  return { links: sorted, anomalies };
}

/** Every difference between the links found and an intended cabling plan. */
export function diffPlan(found: LinkSpec[], plan: LinkSpec[]): Anomaly[] {
  const out: Anomaly[] = [];
  const foundKeys = new Map(found.map((l) => [linkKey(l), l]));
  const planKeys = new Map(plan.map((l) => [linkKey(l), l]));
  const foundByPort = new Map<string, LinkSpec>();
  for (const l of found) { foundByPort.set(fmt(l.a), l); foundByPort.set(fmt(l.b), l); }
  const explained = new Set<string>();
  for (const [k, l] of planKeys) {
    if (foundKeys.has(k)) continue;
    const other = [foundByPort.get(fmt(l.a)), foundByPort.get(fmt(l.b))].filter((x): x is LinkSpec => !!x);
    const spec = normalise(l.a, l.b);
    if (other.length) {
      for (const o of other) explained.add(linkKey(o));
      out.push({
        kind: 'plan-miswired', link: spec,
        message: `planned ${fmt(spec.a)} -- ${fmt(spec.b)} is cabled as ${other.map((o) => `${fmt(o.a)} -- ${fmt(o.b)}`).join(' and ')}`,
      });
    } else {
      out.push({ kind: 'plan-missing', link: spec, message: `planned ${fmt(spec.a)} -- ${fmt(spec.b)} not found` });
    }
  }
  for (const [k, l] of foundKeys) {
    if (planKeys.has(k)) continue;
    const spec = normalise(l.a, l.b);
    out.push({
      kind: 'not-in-plan', link: spec,
      message: `found ${fmt(spec.a)} -- ${fmt(spec.b)}, not in the plan${explained.has(k) ? ' (see the miswired link)' : ''}`,
    });
  }
  return out;
}
