// The contract every twin backend keeps (netns on the host, vm inside a Debian VM).
// `up` builds a lab from a validated topology; `down`, `status` and `exec` work by lab name
// from what `up` recorded in the lab directory, so they also work after a crash of the lab.
import type { Topology } from './topology';

export type BackendKind = 'netns' | 'vm';

export interface LabUpOptions {
  /** Management addresses from the topology's subnet and the bootstrap applied (brownfield). */
  preconfigured?: boolean;
  /**
   * With `preconfigured`: device -> the FRR config it runs from boot as its committed config
   * (`--running DIR`: DIR/<device>.frr.conf, optional DIR/<device>.interfaces), as a fabric
   * someone else configured would (brownfield adoption).
   */
  running?: Record<string, { frrConf: string; interfaces?: string }>;
  /** Root of lab directories; the lab lives in `<root>/<name>/`. Default: $LAB_DIR or `./.lab`. */
  root?: string;
  /** Progress lines for a human (no secrets). */
  log?: (line: string) => void;
  /** Seconds to wait for devices to be reachable before `up` fails (default 120). */
  timeoutSeconds?: number;
  /**
   * For the vm backend running the netns code inside its guest: do not create `<lab>-ctl`; plug
   * every device's eth0 into this existing bridge instead (namespace undefined = the current one).
   */
  externalMgmt?: { namespace?: string; bridge: string };
  /** Path of the node binary that runs the device agents (default: process.execPath). */
  nodeBin?: string;
  /** Where a router's relative `config` path starts (the topology file's folder; default: the cwd). */
  topologyDir?: string;
}

export type DeviceState = 'factory-default' | 'bootstrapped' | 'configured' | 'rebooting' | 'down';

export interface BgpSessionStatus {
  peer: string;        // neighbor address or interface
  remoteAs?: number;
  state: string;       // FRR's state name, e.g. Established, Active, Idle
  afi?: string;        // ipv4Unicast, l2VpnEvpn ...
  prefixesReceived?: number;
}

export interface NodeStatus {
  name: string;
  kind: 'device' | 'server';
  namespace: string;
  /** Devices only. */
  state?: DeviceState;
  managementIp?: string;
  serial?: string;
  model?: string;
  osVersion?: string;
  bgp?: BgpSessionStatus[];
  /** Processes recorded for the node that are still alive. */
  processes?: { pid: number; what: string }[];
}

export interface LabStatus {
  name: string;
  backend: BackendKind;
  /** false when the lab directory exists but nothing of it runs (e.g. after a host reboot). */
  running: boolean;
  dir: string;
  management: { cidr: string; gateway: string; namespace: string; bridge: 'mgmt0' };
  nodes: NodeStatus[];
}

export interface LabUpResult {
  name: string;
  backend: BackendKind;
  dir: string;
  /** device name -> management address (preconfigured: at once; greenfield: after ZTP) */
  managementIps: Record<string, string>;
  /** Human instructions: how to reach the lab. */
  hints: string[];
  seconds: number;
}

/**
 * Backends: `netns` is src/lab/netns.ts (`netnsBackend`); `vm` is src/lab/vm/index.ts, which
 * must export `vmBackend: LabBackend` (loaded lazily by src/lab/backends.ts).
 */
export interface LabBackend {
  readonly kind: BackendKind;
  /** Why this backend cannot carry the topology on this host, or undefined when it can. */
  cannotCarry(topo: Topology): Promise<string | undefined>;
  up(topo: Topology, opts: LabUpOptions): Promise<LabUpResult>;
  /** Idempotent: removes every namespace and process the lab recorded; fine when nothing is left. */
  down(name: string, opts?: { root?: string; log?: (line: string) => void }): Promise<void>;
  status(name: string, opts?: { root?: string }): Promise<LabStatus>;
  /** Runs argv in the node's namespace with inherited stdio; resolves to the exit code. */
  exec(name: string, node: string, argv: string[], opts?: { root?: string }): Promise<number>;
}
