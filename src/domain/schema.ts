// The fabric file's schema (TypeBox, i.e. JSON Schema): one description of the format that the
// API bodies, the OpenAPI document and the docs use. Structure, types, sizes and the character
// rules live here; cross-object rules (pools, uniqueness, roles a profile allows) stay in code
// (validate.ts, services.ts).
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** No control characters (newlines included): every string here may reach a device template. */
export const SAFE_TEXT = '^[^\\u0000-\\u001f\\u007f]*$';
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$';
/** Interface names of every supported platform: swp1, et-0/0/48, xe-0/0/3:2, ae0.100. */
export const PORT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9/:._-]{0,63}$';
/** An IPv4 address or a DNS name (NTP, syslog and DNS servers). */
export const HOST_PATTERN = '^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
export const CIDR_PATTERN = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$';
export const IPV4_PATTERN = '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$';
/** An OS version as devices report it and the twin agent accepts (docs/device-agent.md section 6). */
export const OS_VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$';
/** Logical router names name a VRF (a Linux netdev on FRR): 1-15 characters. */
export const LR_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,14}$';
export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';

export const Name = (description = 'letters, digits, "_", ".", "-"; up to 63') => Type.String({ pattern: NAME_PATTERN, maxLength: 63, description });
export const Text = (maxLength: number, description?: string) => Type.String({ minLength: 1, maxLength, pattern: SAFE_TEXT, ...(description ? { description } : {}) });
export const Port = Type.String({ pattern: PORT_PATTERN, maxLength: 64, description: 'interface name as the platform writes it' });
export const Cidr = Type.String({ pattern: CIDR_PATTERN, maxLength: 18, description: 'IPv4 prefix a.b.c.d/n' });
export const Ipv4 = Type.String({ pattern: IPV4_PATTERN, maxLength: 15, description: 'IPv4 address' });
export const Asn = Type.Integer({ minimum: 1, maximum: 4294967294, description: '2- or 4-byte AS number' });
export const Vni = Type.Integer({ minimum: 1, maximum: 16777214, description: 'VXLAN network identifier' });

/** `{device, port}` or the short `device:port` form. */
export const LinkEndObject = Type.Object({ device: Name(), port: Port }, { additionalProperties: false });
export const LinkEndText = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}:[A-Za-z0-9][A-Za-z0-9/:._-]{0,63}$', maxLength: 128, description: 'device:port' });
export const LinkEnd = Type.Union([LinkEndText, LinkEndObject]);

// ---------------------------------------------------------------- overlay services

export const VirtualNetwork = Type.Object({
  name: Name(),
  vni: Vni,
  subnet: Type.Optional(Cidr),
  gateway: Type.Optional(Ipv4),
}, { additionalProperties: false, $id: 'VirtualNetwork', description: 'An L2VNI: a bridged network stretched over EVPN, optionally routed (subnet and anycast gateway)' });

export const LogicalRouter = Type.Object({
  name: Type.String({ pattern: LR_NAME_PATTERN, maxLength: 15, description: 'names the VRF: a letter, then letters, digits, "_", "-"; up to 15' }),
  mode: Type.Union([Type.Literal('crb'), Type.Literal('erb')], { title: 'mode', description: 'crb: routed on the CRB gateways; erb: on every ERB leaf' }),
  networks: Type.Array(Name(), { maxItems: 4094 }),
  vni: Vni,
}, { additionalProperties: false, $id: 'LogicalRouter', description: 'A VRF routing its virtual networks, with an L3VNI for type-5 routes' });

export const ServerNic = Type.Union([
  LinkEndText,
  Type.Object({ device: Name(), port: Port, mac: Type.Optional(Type.String({ pattern: MAC_PATTERN })) }, { additionalProperties: false }),
]);
export const Server = Type.Object({
  name: Name(),
  nics: Type.Array(ServerNic, { maxItems: 64 }),
}, { additionalProperties: false, $id: 'Server', description: 'A bare-metal server and the leaf ports its NICs are cabled to' });

/** Security groups a binding carries (src/domain/security.ts checks the names). */
const BindingGroups = Type.Optional(Type.Array(Name(), { maxItems: 8, description: 'security groups filtering this binding, in order (first matching rule wins)' }));
export const VpgBinding = Type.Union([
  Type.Object({ network: Name(), vlan: Type.Integer({ minimum: 1, maximum: 4094, title: 'VLAN' }), securityGroups: BindingGroups }, { additionalProperties: false }),
  Type.Object({ network: Name(), untagged: Type.Literal(true, { description: 'true (or leave it out and give vlan)' }), securityGroups: BindingGroups }, { additionalProperties: false }),
], { description: 'vlan (1..4094) or untagged: true' });
export const Vpg = Type.Object({
  name: Name(),
  server: Type.Optional(Name()),
  ports: Type.Array(LinkEnd, { maxItems: 64 }),
  bindings: Type.Array(VpgBinding, { maxItems: 4094 }),
  portProfile: Type.Optional(Name('a port profile (storm control) for every port of the VPG')),
}, { additionalProperties: false, $id: 'Vpg', description: "A virtual port group: a server's ports (one ESI-LAG across leaves when more than one) and the networks on them" });

/** One DC gateway's side of an external network: its port, its address there and the outside router's. */
export const ExternalGateway = Type.Object({
  device: Name('a device with the DC-Gateway role'),
  port: Port,
  address: Type.String({ pattern: CIDR_PATTERN, maxLength: 18, description: "the gateway's address on the port with its prefix length, e.g. 192.0.2.0/31" }),
  peer: Type.String({ ...Ipv4, description: "the outside router's address on that link (inside address's subnet)" }),
}, { additionalProperties: false });
export const ExternalNetwork = Type.Object({
  name: Name(),
  logicalRouter: Type.String({ pattern: LR_NAME_PATTERN, maxLength: 15, description: 'the tenant logical router (VRF) connected to the outside' }),
  peerAsn: Type.Integer({ minimum: 1, maximum: 4294967294, description: "the outside router's AS (EBGP; outside the fabric's ASN ranges and overlay AS)" }),
  gateways: Type.Array(ExternalGateway, { minItems: 1, maxItems: 16, description: 'the DC gateways and ports that reach the outside router' }),
  import: Type.Optional(Type.Array(Cidr, { maxItems: 256, description: 'outside prefixes accepted from the peer (exactly these) and announced into the fabric as EVPN type-5 routes' })),
  defaultRoute: Type.Optional(Type.Boolean({ description: 'accept a default route 0.0.0.0/0 from the peer' })),
  export: Type.Optional(Type.Array(Name(), { maxItems: 4094, description: 'networks of the logical router whose subnets are announced to the peer (exactly, no host routes); absent: every one of them' })),
}, { additionalProperties: false, $id: 'ExternalNetwork', description: "A tenant logical router connected to an outside network through the fabric's DC gateways: EBGP to the outside router, its routes into the fabric as type-5, tenant subnets out" });


export const SecurityGroupRule = Type.Object({
  direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')], { description: 'ingress: traffic to the server (remote = source); egress: traffic from the server (remote = destination)' }),
  action: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  protocol: Type.Union(['any', 'tcp', 'udp', 'icmp'].map((x) => Type.Literal(x)), { description: 'IPv4 protocol; any: every IPv4 packet' }),
  ports: Type.Optional(Type.Object({
    from: Type.Integer({ minimum: 1, maximum: 65535 }),
    to: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'last port of the range (default: from)' })),
  }, { additionalProperties: false, description: 'destination ports (tcp and udp only)' })),
  remotePrefix: Type.Optional(Cidr),
  remoteGroup: Type.Optional(Name('another security group: the subnets of the networks whose bindings carry it')),
}, { additionalProperties: false, description: 'one rule; neither remotePrefix nor remoteGroup: any address' });
export const SecurityGroup = Type.Object({
  name: Name(),
  rules: Type.Array(SecurityGroupRule, { maxItems: 256 }),
}, { additionalProperties: false, $id: 'SecurityGroup', description: 'Named IPv4 rules for VPG bindings: first match wins; what no rule matches (and non-IPv4 traffic such as ARP) passes' });

export const PortProfile = Type.Object({
  name: Name(),
  stormControl: Type.Object({
    bandwidthPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'limit as a share of the port speed' })),
    rateKbps: Type.Optional(Type.Integer({ minimum: 64, maximum: 100_000_000, description: 'limit as a rate (kbit/s)' })),
    traffic: Type.Optional(Type.Array(Type.Union(['broadcast', 'unknown-unicast', 'multicast'].map((x) => Type.Literal(x))), {
      minItems: 1, maxItems: 3, description: 'traffic the limit covers (default all three)',
    })),
  }, { additionalProperties: false, description: 'one limit (bandwidthPercent or rateKbps) on the traffic kinds listed together' }),
}, { additionalProperties: false, $id: 'PortProfile', description: 'Settings for the ports of VPGs that name it: storm control' });

export const SERVICE_SCHEMAS: { path: string; key: 'virtualNetworks' | 'logicalRouters' | 'servers' | 'vpgs' | 'externalNetworks' | 'securityGroups' | 'portProfiles'; what: string; schema: TSchema }[] = [
  { path: 'virtual-networks', key: 'virtualNetworks', what: 'virtual network', schema: VirtualNetwork },
  { path: 'logical-routers', key: 'logicalRouters', what: 'logical router', schema: LogicalRouter },
  { path: 'servers', key: 'servers', what: 'server', schema: Server },
  { path: 'vpgs', key: 'vpgs', what: 'VPG', schema: Vpg },
  { path: 'external-networks', key: 'externalNetworks', what: 'external network', schema: ExternalNetwork },
  { path: 'security-groups', key: 'securityGroups', what: 'security group', schema: SecurityGroup },
  { path: 'port-profiles', key: 'portProfiles', what: 'port profile', schema: PortProfile },
];

// ---------------------------------------------------------------- the fabric section

export const Credentials = Type.Object({
  username: Text(64, 'NETCONF/SSH user the service logs in as'),
  password: Text(128, 'stored encrypted; never shown again'),
}, { additionalProperties: false, description: 'device login (ZTP puts it on every device)' });

export const Snmp = Type.Union([
  Type.Object({ community: Text(64, 'SNMPv2c community (read-only)') }, { additionalProperties: false }),
  Type.Object({
    v3: Type.Object({ user: Type.String({ ...Text(64), examples: ['fabric-ro'] }), authKey: Type.String({ minLength: 8, maxLength: 64, pattern: SAFE_TEXT, description: 'SHA auth key' }), privKey: Type.String({ minLength: 8, maxLength: 64, pattern: SAFE_TEXT, description: 'AES priv key' }) }, { additionalProperties: false }),
  }, { additionalProperties: false }),
], { description: 'how discovery reads LLDP-MIB: {community} or {v3: {user, authKey, privKey}}' });

export const ManagementSubnet = Type.Object({ cidr: Cidr, gateway: Ipv4 }, { additionalProperties: false });
export const AsnRange = Type.Object({ min: Asn, max: Asn }, { additionalProperties: false });

export const Namespaces = Type.Object({
  management: Type.Array(ManagementSubnet, { maxItems: 64, description: 'where devices get their management address (DHCP) and where credentials may go' }),
  loopback: Type.Array(Cidr, { maxItems: 64, description: 'pools of /32 loopbacks' }),
  fabric: Type.Array(Cidr, { maxItems: 64, description: 'pools carved into /31s, one per routed link' }),
  asn: Type.Array(AsnRange, { maxItems: 64, description: 'underlay ASN ranges, one ASN per device' }),
  overlayAsn: Type.Optional(Type.Integer({ minimum: 1, maximum: 4294967294, description: 'iBGP EVPN AS (outside every range); needed once any device has a role' })),
}, { additionalProperties: false, $id: 'Namespaces' });

const HostList = (what: string, example: string[]) => Type.Array(Type.String({ pattern: HOST_PATTERN, maxLength: 253 }), { maxItems: 16, description: `${what}: IPv4 addresses or DNS names`, examples: [example] });
export const Settings = Type.Object({
  mtu: Type.Optional(Type.Integer({ minimum: 1280, maximum: 65535, default: 9216, description: 'fabric link MTU' })),
  bfd: Type.Optional(Type.Object({
    intervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60000, default: 300, description: '0 turns BFD off' })),
    multiplier: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, default: 3 })),
  }, { additionalProperties: false })),
  gracefulRestart: Type.Optional(Type.Boolean({ default: true })),
  ntp: Type.Optional(HostList('NTP servers', ['10.0.0.5', 'ntp.example.net'])),
  syslog: Type.Optional(HostList('syslog hosts', ['10.0.0.6'])),
  dns: Type.Optional(HostList('DNS servers', ['10.0.0.53'])),
  osVersions: Type.Optional(Type.Record(Type.String({ pattern: NAME_PATTERN, maxLength: 63 }), Type.String({ pattern: OS_VERSION_PATTERN, maxLength: 64, title: 'version' }), {
    additionalProperties: false, maxProperties: 256, description: 'target OS version per node profile (the version string the device reports); drift and upgrades compare against it',
  })),
  brownfield: Type.Optional(Type.Object({
    manageUnderlay: Type.Boolean({ description: 'false: autoconfigure leaves the running underlay alone (interfaces, underlay BGP, hand-written lines) and adds only the overlay and services; true: it renders the underlay from the adopted values (a push changes nothing that matches)' }),
  }, {
    additionalProperties: false,
    description: "set by a brownfield onboarding: loopbacks, ASNs and link subnets were adopted from what the devices run, and the EVPN overlay lives in each device's own BGP AS (EBGP multihop between loopbacks) so the running `router bgp` is kept",
  })),
}, { additionalProperties: false, $id: 'Settings' });

export const PhysicalRole = Type.Union(['leaf', 'spine', 'superspine', 'gateway'].map((r) => Type.Literal(r)), { title: 'physical role', description: 'the tier' });
export const ROLE_PATTERN = '^[A-Za-z-]{1,32}$';
export const RoleName = Type.Union([Type.String({ pattern: ROLE_PATTERN, maxLength: 32 }), Type.Null()], { description: 'a routing/bridging role (see node profiles), or null for lean' });

export const Device = Type.Object({
  name: Name(),
  serial: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64, pattern: SAFE_TEXT }), Type.Integer({ minimum: 0 })])),
  profile: Type.String({ pattern: NAME_PATTERN, maxLength: 63, description: 'node profile (node-profiles/<name>.yaml)' }),
  physicalRole: PhysicalRole,
  roles: Type.Optional(Type.Array(RoleName, { maxItems: 16 })),
  managementIp: Type.Optional(Type.String({ ...Ipv4, description: 'set by discovery (or given in brownfield)', examples: ['10.0.0.11'] })),
  model: Type.Optional(Type.String({ ...Text(64), description: 'as the device reports it', examples: ['qfx5110-48s-4c'] })),
}, { additionalProperties: false });

export const LinkPair = Type.Array(LinkEndText, { minItems: 2, maxItems: 2, description: 'two ends [device:port, device:port]' });
export const Link = Type.Union([LinkPair, Type.Object({ a: LinkEnd, b: LinkEnd }, { additionalProperties: false })]);

export const FabricFile = Type.Object({
  fabric: Type.Object({
    name: Name(),
    credentials: Credentials,
    snmp: Type.Optional(Snmp),
    namespaces: Namespaces,
    settings: Type.Optional(Settings),
  }, { additionalProperties: false }),
  devices: Type.Optional(Type.Array(Device, { maxItems: 100_000 })),
  links: Type.Optional(Type.Array(Link, { maxItems: 400_000 })),
  virtualNetworks: Type.Optional(Type.Array(Type.Ref(VirtualNetwork), { maxItems: 16_000 })),
  logicalRouters: Type.Optional(Type.Array(Type.Ref(LogicalRouter), { maxItems: 4_000 })),
  servers: Type.Optional(Type.Array(Type.Ref(Server), { maxItems: 100_000 })),
  vpgs: Type.Optional(Type.Array(Type.Ref(Vpg), { maxItems: 100_000 })),
  externalNetworks: Type.Optional(Type.Array(Type.Ref(ExternalNetwork), { maxItems: 4_000 })),
  securityGroups: Type.Optional(Type.Array(Type.Ref(SecurityGroup), { maxItems: 4_000 })),
  portProfiles: Type.Optional(Type.Array(Type.Ref(PortProfile), { maxItems: 4_000 })),
}, { additionalProperties: false, $id: 'FabricFile' });

/** Every named schema, registered once where a validator or document needs them. */
export const NAMED_SCHEMAS: TSchema[] = [VirtualNetwork, LogicalRouter, Server, Vpg, ExternalNetwork, SecurityGroup, PortProfile, Namespaces, Settings, FabricFile];

// TypeScript types of the input, derived from the schema (types.ts re-exports them under the
// names the code uses), so the type and the check cannot drift apart.
export type VirtualNetworkInput = Static<typeof VirtualNetwork>;
export type LogicalRouterInput = Static<typeof LogicalRouter>;
export type ExternalNetworkInput = Static<typeof ExternalNetwork>;
export type SecurityGroupInput = Static<typeof SecurityGroup>;
export type PortProfileInput = Static<typeof PortProfile>;
export type ManagementSubnetInput = Static<typeof ManagementSubnet>;
export type AsnRangeInput = Static<typeof AsnRange>;
export type NamespacesInput = Static<typeof Namespaces>;
export type CredentialsInput = Static<typeof Credentials>;
export type SnmpInput = Static<typeof Snmp>;
