// NETCONF for simulated devices: H3's server core (one NetconfServer, one NetconfDevice and
// one listener per device on its own address), Ed25519 host key per device, an in-memory
// config store validated like the agent's `frr` envelope (no FRR), and the agent's facts RPC.
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type RpcHandler, type NetconfListener } from '../netconf-server';
import { RpcError } from '../../netconf/errors';
import { escapeText } from '../../netconf/xml';
import { unwrapFrr, NS_DEVICE } from '../agent/netconf';
import type { SimDeviceSpec } from './topology';

export interface SimNetconfOptions {
  credentials: { username: string; password: string };
  port?: number;
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

function factsRpc(spec: SimDeviceSpec): RpcHandler {
  return () => {
    const x = escapeText;
    let s = `<facts xmlns="${NS_DEVICE}"><hostname>${x(spec.name)}</hostname><vendor>${x(spec.vendor)}</vendor>` +
      `<model>${x(spec.model)}</model><serial-number>${x(spec.serial)}</serial-number><os-name>FRR</os-name>` +
      `<os-version>${x(spec.osVersion)}</os-version><management-address>${x(spec.address)}</management-address><interfaces>`;
    s += `<interface><name>eth0</name><oper-status>up</oper-status></interface>`;
    const linked = new Set(spec.neighbors.map((n) => n.localPort));
    for (const p of spec.ports) s += `<interface><name>${x(p.name)}</name><oper-status>${linked.has(p.name) ? 'up' : 'down'}</oper-status></interface>`;
    return { xml: `${s}</interfaces></facts>` };
  };
}

export class SimNetconf {
  readonly server: NetconfServer;
  readonly devices = new Map<string, NetconfDevice>();
  private readonly listeners: NetconfListener[] = [];

  constructor(private readonly o: SimNetconfOptions) {
    this.server = new NetconfServer({ hostKeys: [simHostKey()], authenticate: staticUsers([o.credentials]), helloTimeoutMs: 10_000 });
  }

  async add(spec: SimDeviceSpec): Promise<NetconfDevice> {
    const dev = new NetconfDevice({
      id: spec.name,
      facts: { hostname: spec.name, model: spec.model, serial: spec.serial, osName: 'FRR', osVersion: spec.osVersion },
      hooks: { validate: (cfg) => validateSimConfig(cfg) },
    });
    dev.rpcs.set('get-facts', factsRpc(spec));
    this.devices.set(spec.name, dev);
    this.listeners.push(await this.server.listen(dev, { host: spec.address, port: this.o.port ?? 830, hostKeys: [simHostKey()] }));
    return dev;
  }

  async close(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}
