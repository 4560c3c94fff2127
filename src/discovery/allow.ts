// DISCOVERY_ALLOW: the CIDRs that sweeps, SNMP and NETCONF may reach. Anything else is refused
// before a packet leaves. Checked once per request and again per target (belt and braces).
import { contains, formatIp, parseCidr, parseIp, type Cidr, cidrText } from '../domain/ipv4';

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

function envAllow(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.DISCOVERY_ALLOW ?? '').split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);
}

export class AllowList {
  readonly cidrs: Cidr[];
  /** How check() names the list in its refusal. */
  label?: string;
  constructor(cidrs: string[]) {
    this.cidrs = cidrs.map((t) => {
      const r = parseCidr(t.trim());
      if (!r.ok) throw new DiscoveryError(`DISCOVERY_ALLOW entry "${t}" ${r.reason}`);
      return r.cidr;
    });
  }

  /**
   * Where a fabric's credentials may go: its management namespace and, when DISCOVERY_ALLOW is
   * set, inside that too (the intersection). Sweeps, SNMP, NETCONF and pushes all use this.
   */
  static forFabric(managementCidrs: string[], discoveryAllow: string[] = envAllow()): AllowList {
    const mgmt = new AllowList(managementCidrs);
    if (!discoveryAllow.length) return mgmt;
    const allow = new AllowList(discoveryAllow);
    // Two CIDRs are nested or disjoint: the intersection is the inner one of each nested pair.
    const inner: string[] = [];
    for (const m of mgmt.cidrs) {
      for (const a of allow.cidrs) {
        if (m.base < a.base + a.size && a.base < m.base + m.size) inner.push(cidrText(m.size <= a.size ? m : a));
      }
    }
    const out = new AllowList(inner);
    out.label = `the management namespace (${mgmt.describe()}) within DISCOVERY_ALLOW (${allow.describe()})`;
    return out;
  }

  /** From the environment; `fallback` (e.g. the fabric's management subnets) when unset. */
  static fromEnv(fallback: string[] = [], env: NodeJS.ProcessEnv = process.env): AllowList {
    const v = env.DISCOVERY_ALLOW;
    if (v === undefined || v.trim() === '') return new AllowList(fallback);
    return new AllowList(v.split(/[,\s]+/).filter(Boolean));
  }

  allows(ip: string): boolean {
    const n = parseIp(ip);
    return n !== undefined && this.cidrs.some((c) => contains(c, n));
  }

  /** Whole block inside one allowed CIDR. */
  allowsCidr(c: Cidr): boolean {
    return this.cidrs.some((a) => c.base >= a.base && c.base + c.size <= a.base + a.size);
  }

  /** Throws a one-line error naming the address when it may not be reached. */
  check(ip: string, what: string): void {
    if (!this.allows(ip)) {
      throw new DiscoveryError(`${what} ${ip} is outside ${this.label ?? `DISCOVERY_ALLOW (${this.describe()})`}: refused`);
    }
  }

  describe(): string {
    return this.cidrs.length ? this.cidrs.map(cidrText).join(', ') : 'empty';
  }
}

export { formatIp };
