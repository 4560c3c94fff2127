// The shared vocabulary of the service. Pure data: no IO, no behaviour.
// Everything below `domain/` (intent, render, store, api, jobs, lab) speaks these types.
import type {
  AsnRangeInput, CredentialsInput, ExternalNetworkInput, LogicalRouterInput, ManagementSubnetInput, NamespacesInput, PortProfileInput, SecurityGroupInput,
  SnmpInput, VirtualNetworkInput,
} from './schema';
import type { PlatformFacts } from './facts';

/**
 * A platform's name: `junos`, `frr`, or any platform with data in node-profiles/platforms/ and a
 * module in src/platforms/ (a string, so a new platform is a folder plus data, not a type change).
 */
export type Platform = string;

export type PhysicalRole = 'leaf' | 'spine' | 'superspine' | 'gateway';
export const PHYSICAL_ROLES: readonly PhysicalRole[] = ['leaf', 'spine', 'superspine', 'gateway'];

/** Routing/bridging roles, as the reference system names them. */
export type RoutingRole =
  | 'Route-Reflector'
  | 'CRB-Access'
  | 'CRB-Gateway'
  | 'CRB-MCAST-Gateway'
  | 'ERB-UCAST-Gateway'
  | 'DC-Gateway'
  | 'DCI-Gateway'
  | 'AR-Replicator'
  | 'AR-Client';
export const ROUTING_ROLES: readonly RoutingRole[] = [
  'Route-Reflector', 'CRB-Access', 'CRB-Gateway', 'CRB-MCAST-Gateway', 'ERB-UCAST-Gateway',
  'DC-Gateway', 'DCI-Gateway', 'AR-Replicator', 'AR-Client',
];

export type Feature =
  | 'basic'
  | 'ip_clos'
  | 'overlay_bgp'
  | 'overlay_evpn'
  | 'overlay_evpn_gateway'
  | 'overlay_evpn_erb'
  | 'overlay_evpn_type5'
  | 'overlay_networking'
  | 'overlay_lag'
  | 'overlay_multi_homing'
  | 'overlay_security_group'
  | 'dc_gateway';
/** Canonical feature order: a plan's features (and its rendered sections) follow it. */
export const FEATURES: readonly Feature[] = [
  'basic', 'ip_clos', 'overlay_bgp', 'overlay_evpn', 'overlay_evpn_gateway', 'overlay_evpn_erb',
  'overlay_evpn_type5', 'overlay_networking', 'overlay_lag', 'overlay_multi_homing',
  'overlay_security_group', 'dc_gateway',
];

// ---------------------------------------------------------------- fabric file (input)

// Derived from the one schema (schema.ts): ranges, sizes and descriptions live there.
export type ManagementSubnet = ManagementSubnetInput;
export type AsnRange = AsnRangeInput;
/** fabric: carved into /31s; overlayAsn: required when any device has an overlay role. */
export type Namespaces = NamespacesInput;
export type Credentials = CredentialsInput;
export type SnmpSettings = SnmpInput;

/** Fabric-wide settings feeding `basic` and `ip_clos`; every field has a default. */
export interface FabricSettings {
  mtu: number;                                   // 9216
  bfd: { intervalMs: number; multiplier: number }; // 300 ms, 3
  gracefulRestart: boolean;                      // true
  ntp: string[];
  syslog: string[];
  dns: string[];
  /** target OS version per node profile (issue 15); absent: no target */
  osVersions?: Record<string, string>;
  /** brownfield adoption (src/discovery/adopt.ts); absent: a greenfield fabric */
  brownfield?: { manageUnderlay: boolean };
}

export interface FabricSpec {
  name: string;
  credentials: Credentials;
  snmp?: SnmpSettings;
  namespaces: Namespaces;
  settings?: Partial<FabricSettings>;
}

export interface DeviceSpec {
  name: string;
  serial?: string;
  profile: string;
  physicalRole: PhysicalRole;
  /** [] or ['null'] means lean: no routing/bridging role. */
  roles: string[];
  /** Set when discovered (or imported in brownfield). */
  managementIp?: string;
  model?: string;
}

export interface LinkEnd { device: string; port: string }
export interface LinkSpec { a: LinkEnd; b: LinkEnd }

/** The whole fabric file, parsed (links normalised from `[a:port, b:port]`). */
export interface FabricFile {
  fabric: FabricSpec;
  devices: DeviceSpec[];
  links: LinkSpec[];
  virtualNetworks?: VirtualNetworkSpec[];
  logicalRouters?: LogicalRouterSpec[];
  servers?: ServerSpec[];
  vpgs?: VpgSpec[];
  externalNetworks?: ExternalNetworkSpec[];
  securityGroups?: SecurityGroupSpec[];
  portProfiles?: PortProfileSpec[];
}

// ---------------------------------------------------------------- overlay services (input)

export type VirtualNetworkSpec = VirtualNetworkInput;
export type LogicalRouterSpec = LogicalRouterInput;
export interface ServerSpec { name: string; nics: { device: string; port: string; mac?: string }[] }
export type VpgBinding = ({ network: string; vlan: number } | { network: string; untagged: true }) & { securityGroups?: string[] };
export interface VpgSpec { name: string; server?: string; ports: LinkEnd[]; bindings: VpgBinding[]; portProfile?: string }
export type SecurityGroupSpec = SecurityGroupInput;
export type SecurityGroupRuleSpec = SecurityGroupSpec['rules'][number];
export type PortProfileSpec = PortProfileInput;
export type ExternalNetworkSpec = ExternalNetworkInput;

// ---------------------------------------------------------------- node profiles

export interface NodeProfile {
  name: string;            // file name without .yaml, e.g. juniper-qfx5110-48s-4c
  vendor: string;
  platform: Platform;
  /** Model strings reported by the device (facts) that select this profile. */
  models: string[];
  /** SNMP sysObjectID prefixes that select this profile. */
  sysObjectIds: string[];
  /** Port naming: regular expressions a valid port name must match (anchored). */
  ports: { pattern: string; description?: string }[];
  hitlessUpgrade: boolean;
  /** Allowed `role@physical` pairs; `*` in either half allows every value. */
  roles: string[];
  /** This model's exceptions to its platform's facts (node-profiles/platforms/<platform>.yaml). */
  facts?: Partial<PlatformFacts>;
}

// ---------------------------------------------------------------- platform data

/** Facts about a platform that intent and validation act on (the table in ./facts.ts). A profile may override any of them. */
export type { PlatformFacts } from './facts';

export interface PlatformData {
  /** the platform's name, as node profiles and DevicePlans carry it; equals the file name */
  name: string;
  /** how messages name it: `Junos`, `FRR` */
  title: string;
  description: string;
  /** features it renders; a device whose roles and services need another one is refused at validation */
  features: Feature[];
  /** routing roles it can take (node profiles narrow them per model and physical role) */
  roles: RoutingRole[];
  facts: PlatformFacts;
}

// ---------------------------------------------------------------- allocations

/**
 * The record of what has been handed out. Allocation is a pure function
 * (inventory, existing record) -> new record; the store applies it atomically.
 */
export interface Allocations {
  /** device name -> loopback address (no prefix length) */
  loopbacks: Record<string, string>;
  /** device name -> ASN */
  asns: Record<string, number>;
  /** link key (see linkKey) -> /31 CIDR; the link's first end takes the lower address */
  links: Record<string, string>;
  /**
   * multihomed VPG name -> its Ethernet segment index 1..65535 (ESI bytes 9-10 behind the
   * fabric's prefix). Absent in records stored before ESIs were allocated.
   */
  esis?: Record<string, number>;
}

// ---------------------------------------------------------------- device plan (intent output)

export interface PlanInterface {
  name: string;
  /** CIDR, e.g. 10.254.0.0/31; absent on unaddressed (leaf-leaf) links */
  address?: string;
  mtu: number;
  description: string;
  peer: LinkEnd;
}

export interface UnderlayNeighbor {
  address: string;       // the peer's /31 address
  localAddress: string;  // ours
  peerAsn: number;
  peerDevice: string;
  interface: string;
  bfd: boolean;
}

export interface OverlayNeighbor {
  address: string;   // the peer's loopback
  device: string;
  /** true when we are a route reflector and this peer is our client */
  client: boolean;
  /** adopted (brownfield) fabrics: the peer's own ASN, the overlay session is EBGP multihop */
  asn?: number;
}

export interface DevicePlan {
  name: string;
  hostname: string;
  platform: Platform;
  profile: string;
  physicalRole: PhysicalRole;
  roles: RoutingRole[];
  features: Feature[];
  loopback: string;          // address without prefix length
  routerId: string;
  asn: number;
  settings: FabricSettings;
  /** layer-2 domains as `bridge-domains` (MX); absent: `vlans` (the l2Model fact) */
  l2Model?: 'bridge-domains';
  /** `forwarding-options vxlan-routing overlay-ecmp`: the overlayEcmp fact and a type-5 role (restarts the PFE when added) */
  overlayEcmp?: true;
  /** what the plan changed from the fabric's settings for this device's model, one line each */
  warnings?: string[];
  interfaces: PlanInterface[];
  underlay: {
    neighbors: UnderlayNeighbor[];
    /** Loopbacks this device advertises (its own) into the underlay. */
    exportLoopback: string;
  };
  /** Absent on devices with no overlay (lean devices in a fabric without overlayAsn). */
  overlay?: {
    asn: number;
    /** adopted (brownfield) fabric: EVPN rides EBGP multihop in each device's own ASN (`router bgp <asn>` as it runs) */
    ebgp?: true;
    localAddress: string;
    routeReflector: boolean;
    clusterId?: string;
    neighbors: OverlayNeighbor[];
    vtepSource: string;           // loopback address
    routeDistinguisher: string;   // <loopback>:1
  };
  // Overlay services on this device (src/intent/services.ts); empty arrays render nothing.
  virtualNetworks: PlanVirtualNetwork[];
  logicalRouters: PlanLogicalRouter[];
  vpgs: PlanVpg[];
  /** DC gateways only: this device's links to outside routers (absent: none). */
  externalNetworks?: PlanExternalNetwork[];
}

/** One external network on one DC gateway: EBGP to the outside router in the tenant's VRF. */
export interface PlanExternalNetwork {
  name: string;
  /** the logical router's VRF / routing instance */
  vrf: string;
  /** the port towards the outside router */
  interface: string;
  /** ours on that port, with prefix length */
  address: string;
  peer: string;
  peerAsn: number;
  /** outside prefixes accepted (the prefix or longer) */
  import: string[];
  defaultRoute: boolean;
  /** tenant subnets announced to the peer */
  export: string[];
}

/** A VN present on one device: bound on its VPG ports, or routed here by a logical router. */
export interface PlanVirtualNetwork {
  name: string;
  vni: number;
  /** Device-local VLAN id of the VN (Junos vlan-id; FRR names only). */
  vlan: number;
  /** `target:<overlayAsn>:<vni>` */
  routeTarget: string;
  /** `<loopback>:<vlan>` */
  rd: string;
  subnet?: string;
  /** Gateway address without prefix length. */
  gateway?: string;
  /** Local attachments: the VPG interface (lag or single port) and how the VN rides it. */
  members: { interface: string; vpg: string; vlan?: number; untagged: boolean }[];
  /** Name of the logical router routing this VN on this device (an IRB/SVI exists here). */
  router?: string;
  /** IGMP snooping on this network (ERB-UCAST-Gateway where the platform supports it, fact igmpSnooping) */
  igmpSnooping?: true;
}

export interface PlanIrb {
  network: string;
  vni: number;
  vlan: number;
  /** Unique per device: `<host address>/<len>` (CRB gateways) or the gateway itself (ERB anycast). */
  address: string;
  /** The VN's gateway, `<gw>/<len>` (virtual-gateway-address on CRB, anycast on ERB). */
  gateway: string;
  /** Anycast/virtual gateway MAC. */
  mac: string;
}

export interface PlanLogicalRouter {
  name: string;
  mode: 'crb' | 'erb';
  /** VRF / routing-instance name. */
  vrf: string;
  l3vni: number;
  /** Device-local VLAN of the L3VNI (FRR bridge naming, Junos unused). */
  l3vlan: number;
  routeTarget: string;
  rd: string;
  networks: string[];
  irbs: PlanIrb[];
}

export interface PlanVpg {
  name: string;
  server?: string;
  /** Type-0 ESI (10 bytes) when the VPG spans two or more leaves: the fabric's prefix, then esiIndex. */
  esi?: string;
  /** The segment's stable index (1..65535) from the store's allocations, in ESI bytes 9-10. */
  esiIndex?: number;
  /** LACP system id (and FRR es-sys-mac), from the ESI, when multi-homed. */
  lacpSystemId?: string;
  /** FRR local ES id (1..16777215), the same on every leaf of the VPG, from the ESI. */
  esId?: number;
  /**
   * This leg's designated-forwarder preference (FRR es-df-pref): 50000 on the VPG's first
   * device (port order), 100 less on each next one, so the DF is known before the election.
   */
  esDfPref?: number;
  /** ae<n> (junos) / bond<n> (frr) when multi-homed or more than one local port. */
  lag?: string;
  /** The interface carrying the bindings: the lag, or the single port. */
  interface: string;
  /** This device's ports of the VPG. */
  ports: string[];
  bindings: { network: string; vni: number; vlan?: number; untagged: boolean; localVlan: number }[];
  /** Bindings with security groups, their rules resolved (src/intent/security.ts); absent: none. */
  filters?: PlanFilter[];
  /** The VPG's port profile's storm control; absent: none. */
  stormControl?: PlanStormControl;
}

/** One binding's security groups, flattened in order (first match wins, then pass). */
export interface PlanFilter {
  network: string;
  /** the binding's VLAN on the port (absent: untagged) */
  vlan?: number;
  untagged: boolean;
  rules: PlanFilterRule[];
}

export interface PlanFilterRule {
  group: string;
  /** the rule's index in its group */
  index: number;
  direction: 'ingress' | 'egress';
  action: 'allow' | 'deny';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp';
  ports?: { from: number; to: number };
  /** remote addresses (a group's subnets, or the prefix; 0.0.0.0/0 for any) */
  prefixes: string[];
}

export interface PlanStormControl {
  profile: string;
  bandwidthPercent?: number;
  rateKbps?: number;
  broadcast: boolean;
  unknownUnicast: boolean;
  multicast: boolean;
}

/** Stable key of a link regardless of which end is listed first. */
export function linkKey(l: LinkSpec): string {
  const a = `${l.a.device}:${l.a.port}`;
  const b = `${l.b.device}:${l.b.port}`;
  return a < b ? `${a}--${b}` : `${b}--${a}`;
}
