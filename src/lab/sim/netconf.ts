// NETCONF for simulated devices: H3's server core (one NetconfServer, one NetconfDevice and
// one listener per device on its own address), Ed25519 host key per device (kept across
// reboots, as a real box keeps its key), an in-memory config store validated like the agent's
// `frr` envelope (no FRR), the agent's facts RPC, operational state from the sim's routing
// model (routing.ts), and the agent's install-software RPC (docs/device-agent.md section 6):
// the install takes `installMs`, then the device "reboots": its NETCONF listener closes (every
// session ends), its BGP sessions go down at its peers, and after `rebootMs` (or the RPC's
// reboot-seconds) it listens again reporting the new version, with the config it had.
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type RpcHandler, type NetconfListener } from '../netconf-server';
import { RpcError } from '../../netconf/errors';
import { escapeText } from '../../netconf/xml';
import { parseInstallSoftware, unwrapFrr, NS_DEVICE } from '../agent/netconf';
import type { SimDeviceSpec } from './topology';
import { SimRouting } from './routing';

/** How simulated OS installs behave (all optional). */
export interface SimInstallOptions {
  /** how long install-software takes before it answers (default 200 ms) */
  installMs?: number;
  /** how long the device is gone after the install (default 1000 ms; the RPC's reboot-seconds wins) */
  rebootMs?: number;
  /** devices whose install fails: the RPC answers operation-failed, nothing changes */
  failInstall?: readonly string[];
}

export interface SimNetconfOptions {
  credentials: { username: string; password: string };
  port?: number;
  install?: SimInstallOptions;
}

/** What the sim checks in a config (the twin asks FRR itself): the envelope and bgp ASNs. */
export function validateSimConfig(xml: string): void {
  const { frrConf } = unwrapFrr(xml);
  for (const [i, line] of frrConf.split('\n').entries()) {
    const m = /^\s*router bgp\s+(\S+)/.exec(line);
    if (m && !(/^\d+$/.test(m[1]) && Number(m[1]) >= 1 && Number(m[1]) <= 4294967295)) {
      throw new RpcError('invalid-value', `frr.conf line ${i + 1}: bad AS number "${m[1]}"`, { path: '/config/frr/frr-conf' });
    }
  }
}

/** The shared generator already draws again until ssh2 can parse the key. */
export function simHostKey(): string {
  return generateHostKey().private;
}

interface SimBox { spec: SimDeviceSpec; dev: NetconfDevice; hostKey: string; version: string; listener?: NetconfListener; rebooting: boolean; reboots: number }

function factsRpc(box: SimBox): RpcHandler {
  return () => {
    const x = escapeText;
    const spec = box.spec;
    let s = `<facts xmlns="${NS_DEVICE}"><hostname>${x(spec.name)}</hostname><vendor>${x(spec.vendor)}</vendor>` +
      `<model>${x(spec.model)}</model><serial-number>${x(spec.serial)}</serial-number><os-name>FRR</os-name>` +
      `<os-version>${x(box.version)}</os-version><management-address>${x(spec.address)}</management-address><interfaces>`;
    s += `<interface><name>eth0</name><oper-status>up</oper-status></interface>`;
    const linked = new Set(spec.neighbors.map((n) => n.localPort));
    for (const p of spec.ports) s += `<interface><name>${x(p.name)}</name><oper-status>${linked.has(p.name) ? 'up' : 'down'}</oper-status></interface>`;
    return { xml: `${s}</interfaces></facts>` };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SimNetconf {
  readonly server: NetconfServer;
  readonly devices = new Map<string, NetconfDevice>();
  readonly routing = new SimRouting();
  /** devices whose install-software fails (from install.failInstall; tests add to it) */
  readonly failing: Set<string>;
  /** a device's own reboot time, ms (tests: one device back much later than its batch-mates) */
  readonly rebootMsOf = new Map<string, number>();
  private readonly boxes = new Map<string, SimBox>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: SimNetconfOptions) {
    this.server = new NetconfServer({ hostKeys: [simHostKey()], authenticate: staticUsers([o.credentials]), helloTimeoutMs: 10_000 });
    this.failing = new Set(o.install?.failInstall ?? []);
  }

  async add(spec: SimDeviceSpec): Promise<NetconfDevice> {
    const dev = new NetconfDevice({
      id: spec.name,
      facts: { hostname: spec.name, model: spec.model, serial: spec.serial, osName: 'FRR', osVersion: spec.osVersion },
      hooks: {
        validate: (cfg) => validateSimConfig(cfg),
        apply: (cfg) => this.routing.setConfig(spec.name, unwrapFrr(cfg).frrConf),
        getState: () => this.routing.frrStateXml(spec.name),
      },
    });
    const box: SimBox = { spec, dev, hostKey: simHostKey(), version: spec.osVersion, rebooting: false, reboots: 0 };
    dev.rpcs.set('get-facts', factsRpc(box));
    dev.rpcs.set('install-software', this.installRpc(box));
    this.devices.set(spec.name, dev);
    this.boxes.set(spec.name, box);
    this.routing.setUp(spec.name, true);
    await this.listen(box);
    return dev;
  }

  /** The version a device reports now, and how often it rebooted (tests, benches). */
  status(name: string): { version: string; rebooting: boolean; reboots: number } | undefined {
    const b = this.boxes.get(name);
    return b && { version: b.version, rebooting: b.rebooting, reboots: b.reboots };
  }

  /** Power a device off (NETCONF gone, its sessions down at its peers) or on again (tests). */
  async setPower(name: string, on: boolean): Promise<void> {
    const box = this.boxes.get(name);
    if (!box) throw new Error(`sim: no device ${name}`);
    if (!on && box.listener) {
      this.routing.setUp(name, false);
      const l = box.listener;
      box.listener = undefined;
      await l.close();
    } else if (on && !box.listener && !box.rebooting) {
      await this.listen(box);
      this.routing.setUp(name, true);
    }
  }

  private async listen(box: SimBox): Promise<void> {
    box.listener = await this.server.listen(box.dev, { host: box.spec.address, port: this.o.port ?? 830, hostKeys: [box.hostKey] });
  }

  private installRpc(box: SimBox): RpcHandler {
    const io = this.o.install ?? {};
    return async ({ op }) => {
      const { version, rebootSeconds: secs } = parseInstallSoftware(op);
      if (box.rebooting) throw new RpcError('in-use', 'the device is rebooting');
      await sleep(io.installMs ?? 200);
      if (this.failing.has(box.spec.name)) {
        throw new RpcError('operation-failed', `install of ${version} failed: image verification error (simulated failure)`, { type: 'application' });
      }
      const previous = box.version;
      // Answer first, then go down (the reply must leave before the sessions close).
      this.later(200, () => this.reboot(box, version, this.rebootMsOf.get(box.spec.name) ?? (secs === undefined ? (io.rebootMs ?? 1000) : secs * 1000)));
      return { xml: `<install-software-result xmlns="${NS_DEVICE}"><previous-version>${escapeText(previous)}</previous-version><version>${escapeText(version)}</version><rebooting/></install-software-result>` };
    };
  }

  private later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => { this.timers.delete(t); void fn().catch(() => undefined); }, ms);
    this.timers.add(t);
  }

  private async reboot(box: SimBox, version: string, downMs: number): Promise<void> {
    if (this.closed) return;
    box.rebooting = true;
    this.routing.setUp(box.spec.name, false);
    const l = box.listener;
    box.listener = undefined;
    await l?.close();
    this.later(downMs, async () => {
      if (this.closed) return;
      box.version = version;
      if (box.dev.facts) box.dev.facts.osVersion = version;
      box.reboots++;
      await this.listen(box);
      box.rebooting = false;
      this.routing.setUp(box.spec.name, true);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.boxes.values()].map((b) => b.listener?.close()));
  }
}
