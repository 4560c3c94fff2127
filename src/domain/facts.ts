// Platform facts: what intent and validation need to know about a platform (or one model of
// it) beyond its features and roles. Each fact is one entry below, its check and its meaning;
// its value is one line in node-profiles/platforms/<platform>.yaml (`facts:`), a node profile
// may override it for its model, and code reads it with factsOf(profile, platforms).<fact>.
// Adding a fact: one entry here (with a default, the platforms it holds for need no line), one
// YAML line where it differs, one reader. No imports: types.ts derives PlatformFacts from this table.

/** A fact's check: its value, or what is wrong with it (one phrase). */
type Check<T> = (v: unknown) => T | { error: string };

export interface FactSpec<T> {
  /** what it means, for messages and docs */
  doc: string;
  check: Check<T>;
  /** the value of a platform whose data does not say; absent: every platform must say */
  default?: T;
}

export const fact = <T>(doc: string, check: Check<T>, dflt?: T): FactSpec<T> => (dflt === undefined ? { doc, check } : { doc, check, default: dflt });

function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v) => ((values as unknown[]).includes(v) ? (v as T) : { error: `"${String(v)}" is not ${values.join(' or ')}` });
}

/** Interface and prefix names: they reach templates, so letters, digits, `.`, `/`, `-` only. */
const IFNAME_RE = /^[A-Za-z][A-Za-z0-9./-]{0,30}$/;
const ifName: Check<string> = (v) => (typeof v === 'string' && IFNAME_RE.test(v) ? v : { error: 'expected an interface name' });

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const FACTS = {
  lag: fact<{ prefix: string; first: number }>(
    "LAG interface of a VPG: `<prefix><first + n>` for the device's n-th LAG (VPG file order)",
    (v) => (isMap(v) && typeof v.prefix === 'string' && /^[a-z][a-z-]{0,15}$/.test(v.prefix) && Number.isInteger(v.first) && (v.first as number) >= 0
      ? { prefix: v.prefix, first: v.first as number }
      : { error: 'expected {prefix: lower-case letters, first: a whole number >= 0}' }),
  ),
  vlanScope: fact(
    '`device`: a VLAN id names one network on the whole device and a network rides one VLAN id (Junos `vlans`), ' +
      'so two VPGs on one device must agree; `port`: VLAN ids are local to a port (FRR per-VNI bridges, VLAN subinterfaces)',
    oneOf('device', 'port'),
  ),
  bfdMinIntervalMs: fact<number>(
    'the shortest BFD interval (ms) the model supports; a fabric asking for less renders this and the plan warns ' +
      '(QFX5000/EX4600: 1000, Juniper "Understanding BFD for BGP"; 0: no floor)',
    (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 60000 ? (v as number) : { error: 'expected whole milliseconds 0-60000' }),
    0,
  ),
  overlayEcmp: fact<boolean>(
    'the model needs `forwarding-options vxlan-routing overlay-ecmp` for ECMP over pure EVPN type-5 routes; setting it ' +
      'restarts the packet forwarding engine, so the ZTP bootstrap carries it (QFX5110/QFX5120, Juniper "EVPN Type 5 Route with VXLAN")',
    (v) => (typeof v === 'boolean' ? v : { error: 'expected true or false' }),
    false,
  ),
  l2Model: fact<'vlans' | 'bridge-domains'>(
    'how the model writes a layer-2 domain: `vlans` (QFX, EX: `vlans`, `l3-interface`) or `bridge-domains` ' +
      '(MX: `bridge-domains`, `routing-interface`)',
    oneOf('vlans', 'bridge-domains'),
    'vlans',
  ),
  igmpSnooping: fact<boolean>(
    'IGMP snooping on the bridged networks of an ERB-UCAST-Gateway leaf can be configured (Junos `protocols igmp-snooping vlan`, ' +
      'Juniper "IGMP Snooping in an EVPN-VXLAN Fabric"); false: the role renders none there (FRR: the templates render no bridge-mcsnoop yet, though the twin agent applies it: snooping across the VXLAN port is not proven)',
    (v) => (typeof v === 'boolean' ? v : { error: 'expected true or false' }),
    false,
  ),
  stormControl: fact<boolean>(
    'the device polices broadcast, unknown-unicast and multicast traffic on a port (port profiles; Junos ' +
      '`storm-control-profiles`); false: validation refuses a port profile on a VPG with a port on it',
    (v) => (typeof v === 'boolean' ? v : { error: 'expected true or false' }),
    true,
  ),
  managementInterface: fact('the management port (NetBox export, docs)', ifName),
  loopbackInterface: fact('the loopback interface (NetBox export, docs)', ifName),
};

export type FactName = keyof typeof FACTS;
export const FACT_NAMES = Object.keys(FACTS) as FactName[];

/** Every fact of a platform, typed by its check. */
export type PlatformFacts = { [K in FactName]: (typeof FACTS)[K] extends FactSpec<infer T> ? T : never };

/** Checks a (partial) facts mapping; `where` starts every message (`platform data junos.yaml: facts`). */
export function checkFacts(v: unknown, where: string): Partial<PlatformFacts> {
  const bad = (k: string, what: string) => new Error(`${where}${k ? `.${k}` : ''}: ${what}`);
  if (!isMap(v)) throw bad('', 'expected a mapping');
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v)) {
    if (!Object.hasOwn(FACTS, k)) throw bad(k, `unknown fact (known: ${FACT_NAMES.join(', ')})`);
    const r = (FACTS[k as FactName].check as Check<unknown>)(value);
    if (isMap(r) && typeof r.error === 'string' && Object.keys(r).length === 1) throw bad(k, r.error);
    out[k] = r;
  }
  return out as Partial<PlatformFacts>;
}

/** A platform's facts: its data's, defaults for the rest; throws naming the facts with neither. */
export function completeFacts(
  given: Partial<PlatformFacts>, where: string, table: Record<string, FactSpec<unknown>> = FACTS as Record<string, FactSpec<unknown>>,
): PlatformFacts {
  const out: Record<string, unknown> = { ...given };
  const missing: string[] = [];
  for (const k of Object.keys(table)) {
    if (out[k] !== undefined) continue;
    const d = table[k].default;
    if (d === undefined) missing.push(k);
    else out[k] = d;
  }
  if (missing.length) throw new Error(`${where}: missing ${missing.join(', ')}`);
  return out as PlatformFacts;
}
