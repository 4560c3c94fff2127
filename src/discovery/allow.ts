// DISCOVERY_ALLOW: the CIDRs that sweeps, SNMP and NETCONF may reach. Anything else is refused
// before a packet leaves. Checked once per request and again per target (belt and braces).
import { contains, formatIp, parseCidr, parseIp, type Cidr, cidrText } from '../domain/ipv4';

export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

export class AllowList {
  readonly cidrs: Cidr[];
  constructor(cidrs: string[]) {
    this.cidrs = cidrs.map((t) => {
      const r = parseCidr(t.trim());
      if (!r.ok) throw new DiscoveryError(`DISCOVERY_ALLOW entry "${t}" ${r.reason}`);
      return r.cidr;
    });
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
      throw new DiscoveryError(`${what} ${ip} is outside DISCOVERY_ALLOW (${this.describe()}): refused`);
    }
  }

  describe(): string {
    return this.cidrs.length ? this.cidrs.map(cidrText).join(', ') : 'empty';
  }
}

export { formatIp };
