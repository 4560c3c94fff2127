// The one interface every platform implements (src/platforms/<name>/index.ts). What a platform
// supports (features, roles) and the facts intent reads are data (node-profiles/platforms/);
// this is its behaviour: how its features' template outputs become files, how its devices
// take, show and check a config over NETCONF, and its ZTP bootstrap. A new platform is a folder
// implementing this, its templates, and its data file.
import type { DevicePlan, Feature } from '../domain/types';
import type { NetconfClient, RpcOptions } from '../netconf/client';
import type { CommitFlavour } from '../netconf/flavours';

/** One BGP session as the device reports it; `afi` 'ipv4' | 'evpn' (or undefined: unknown). */
export interface BgpSessionState { peer: string; afi?: 'ipv4' | 'evpn' | string; state: string }
export interface BfdSessionState { peer: string; state: string }
export interface OperState {
  bgp: BgpSessionState[];
  /** undefined: the device does not report BFD (the check becomes a note, not a failure) */
  bfd?: BfdSessionState[];
  /** selected IPv4 prefixes (e.g. 10.255.0.1/32) */
  routes: string[];
}

/** What discovery learns of a device over NETCONF (src/discovery/facts.ts). */
export interface DeviceFactsRead {
  hostname: string;
  vendor?: string;
  model: string;
  serial: string;
  osName?: string;
  osVersion: string;
  managementAddress?: string;
  interfaces: { name: string; operStatus?: string; mac?: string }[];
}

/**
 * The underlay a device runs (brownfield adoption, src/discovery/adopt.ts): read from its
 * running config and BGP state, never from the fabric's pools. Addresses are `a.b.c.d/len`.
 */
export interface RunningUnderlay {
  /** the loopback's /32 (FRR `interface lo`; Junos `lo0 unit 0`), address only */
  loopback?: string;
  /** the default instance's BGP AS (FRR `router bgp N`; Junos `routing-options autonomous-system`) */
  asn?: number;
  routerId?: string;
  /** front-panel ports with an IPv4 address (the loopback left out) */
  interfaces: { name: string; address: string }[];
  /** BGP neighbours of the default instance; state/uptime when the device reports them */
  neighbors: { address: string; remoteAs?: number; state?: string; uptimeSeconds?: number }[];
}

/** One feature's template output, in plan order. */
export interface FeatureOutput { feature: Feature; template: string; text: string }

/** What a layout may ask of the renderer: render another template of its platform. */
export interface TemplateHost { render(template: string, ctx: object): string }

/** The platform's ZTP: how DHCP tells its devices apart and points them at the bootstrap
 * (templates/<name>/ztp.njk), and what that bootstrap carries beyond the common context. */
export interface ZtpBootstrap {
  contentType: string;
  /** the password as the bootstrap carries it: `sha512-crypt` (Junos `encrypted-password`, hashed by src/discovery/ztp.ts); absent: none ('') */
  passwordForm?: 'sha512-crypt';
  /** a DHCP client of this platform, by its option-60 vendor; absent: only the fallback's */
  dhcpClient?: (id: { vendor?: string; vendorClass?: string }) => boolean;
  /**
   * How the DHCP reply carries the bootstrap URL: `url` (default) option 67 with the full URL
   * (66: the server); `juniper` option 43 sub-options (1 file, 3 transfer mode, 5 port) + 150.
   */
  dhcpOptions?: 'url' | 'juniper';
}

export interface PlatformModule {
  /** equals its data file's name (node-profiles/platforms/<name>.yaml) and template folder */
  readonly name: string;
  /** where `<name>/<feature>.njk` live; default: the repository's templates/ */
  readonly templateDir?: string;
  /** render layout: the features' template outputs -> the device's files (name -> text) */
  layout(plan: DevicePlan, outputs: FeatureOutput[], host: TemplateHost): Record<string, string>;
  /** the NETCONF dialect of its transactions (lock, validate, diff, commit confirmed, rollback) */
  readonly commit: CommitFlavour;
  /** the session's hello says the device is of this platform; absent: the fallback platform */
  speaks?(c: NetconfClient): boolean;
  /** puts the rendered files into the candidate */
  load(c: NetconfClient, device: string, files: Record<string, string>): Promise<void>;
  /** the running config as canonical files, equal to comparableIntended's when in sync */
  readRunning(c: NetconfClient, device: string): Promise<Record<string, string>>;
  comparableIntended(device: string, files: Record<string, string>): Record<string, string>;
  /** a config-history entry's text (commitText of comparableIntended) -> loadable files */
  filesFromCommit(device: string, text: string): Record<string, string>;
  /** verify readers: sessions, BFD and routes, over NETCONF only */
  readOperState(c: NetconfClient, ro?: RpcOptions): Promise<OperState>;
  /** discovery: host name, model, serial, OS, interfaces of a device whose hello names this platform */
  readFacts(c: NetconfClient): Promise<DeviceFactsRead>;
  /**
   * brownfield, manageUnderlay false: the files to load so that what the device runs stays and
   * only the service's part (`owned`, this render; `ownedBefore`, the previous one) changes.
   * Absent: the load is the render as it is.
   */
  adoptedFiles?(device: string, running: Record<string, string>, owned: Record<string, string>, ownedBefore?: Record<string, string>): Record<string, string>;
  /** brownfield: the underlay the device runs (running config + BGP state); absent: not adoptable */
  readUnderlay?(c: NetconfClient, device: string): Promise<RunningUnderlay>;
  /** plans with `overlayEcmp`: whether the device runs it, and the files without it (absent: no such statement) */
  overlayEcmp?: { runs(c: NetconfClient): Promise<boolean>; without(files: Record<string, string>): Record<string, string> };
  readonly ztp: ZtpBootstrap;
  /** the rule check's view of a rendered device (src/platforms/rules.ts); absent: not checked */
  configFacts?(plan: DevicePlan, files: Record<string, string>): ConfigFacts;
  /**
   * The OS upgrade RPC (install an image, reboot). A slot: no upgrade job calls it yet (issue 6),
   * and a platform without one cannot be upgraded by the service.
   */
  upgrade?(c: NetconfClient, image: { url: string; sha256?: string }, ro?: RpcOptions): Promise<void>;
}

/**
 * What the rule check (src/platforms/rules.ts) reads from one device's rendered files, in
 * platform-neutral terms. Each platform's rules.ts fills it from its own text; a field left
 * undefined means the rule does not apply to that platform (its source is another vendor's).
 */
export interface ConfigFacts {
  /** every interface carrying an ESI (Junos `esi identifier`; FRR `evpn mh es-id` + `es-sys-mac`) */
  esis: { interface: string; aggregate: boolean; esi: string }[];
  /** VNIs bound to a VLAN/bridge on this device */
  vnisInUse: number[];
  /** VNIs the EVPN advertises; 'all' (Junos `extended-vni-list all`, FRR `advertise-all-vni`) */
  evpnVnis: number[] | 'all';
  routeDistinguishers: string[];
  /** IRB/SVI interfaces each VRF uses, and whether the device defines them */
  vrfIrbs: { vrf: string; irb: string; exists: boolean }[];
  /** every BFD interval configured, ms */
  bfdIntervalsMs: number[];
  /** BGP graceful restart and BFD both configured; undefined: rule not the platform's */
  gracefulRestartWithBfd?: boolean;
  /** internal (overlay) BGP groups and whether each has multipath; undefined: not the platform's */
  overlayGroups?: { name: string; multipath: boolean }[];
  /** FRR (issue 14 items 8-11, 13); undefined: not the platform's */
  frr?: {
    /** each fabric port of the plan and the MTU its netdev gets (undefined: none rendered) */
    fabricMtus: { port: string; mtu?: number }[];
    /** each L2VNI's VXLAN netdev and whether ARP/ND suppression is on */
    l2vnis: { interface: string; arpNdSuppress: boolean }[];
    /** each Ethernet segment's bond: frr.conf's es-sys-mac and the bond's LACP actor (.interfaces es-sys-mac) */
    esBonds: { interface: string; esSysMac?: string; lacpActor?: string }[];
    /** each fabric port and whether it is tracked as an ES uplink (`evpn mh uplink`) */
    uplinks: { port: string; tracked: boolean }[];
    /** underlay neighbours sent routes without the leaf's no-transit filter */
    unfilteredUnderlay: string[];
  };
}
