// JSON schemas (TypeBox) for requests and replies: fastify validates with them and the
// OpenAPI document at /api/v1/openapi.json is generated from them.
import { Type, type TSchema } from '@sinclair/typebox';

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'name: letters, digits, _ . -' });
const PhysicalRole = Type.Union(['leaf', 'spine', 'superspine', 'gateway'].map((r) => Type.Literal(r)));
const ManagedState = Type.Union(['dhcp', 'rma', 'activating', 'active', 'maintenance', 'error'].map((r) => Type.Literal(r)));
const OnboardingState = Type.Union(['discovered', 'interfaces_onboarded', 'topology_discovered', 'role_discovered', 'underlay_configured'].map((r) => Type.Literal(r)));
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ErrorReply = Type.Object({
  error: Type.String(),
  message: Type.String(),
  path: Type.Optional(Type.String()),
  jobId: Type.Optional(Type.String()),
}, { $id: 'Error' });

export const LinkEnd = Type.Object({ device: Type.String({ minLength: 1 }), port: Type.String({ minLength: 1 }) }, { additionalProperties: false });

const Namespaces = Type.Object({
  management: Type.Array(Type.Object({ cidr: Type.String(), gateway: Type.String() })),
  loopback: Type.Array(Type.String()),
  fabric: Type.Array(Type.String()),
  asn: Type.Array(Type.Object({ min: Type.Integer(), max: Type.Integer() })),
  overlayAsn: Type.Optional(Type.Integer()),
});

const Settings = Type.Object({
  mtu: Type.Optional(Type.Integer()),
  bfd: Type.Optional(Type.Object({ intervalMs: Type.Integer(), multiplier: Type.Integer() })),
  gracefulRestart: Type.Optional(Type.Boolean()),
  ntp: Type.Optional(Type.Array(Type.String())),
  syslog: Type.Optional(Type.Array(Type.String())),
  dns: Type.Optional(Type.Array(Type.String())),
});

const Credentials = Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String({ minLength: 1 }) });
const Snmp = Type.Union([
  Type.Object({ community: Type.String({ minLength: 1 }) }),
  Type.Object({ v3: Type.Object({ user: Type.String(), authKey: Type.String(), privKey: Type.String() }) }),
]);

/** The fabric file as JSON (DESIGN §5). Deep checks (pools, profiles, ports) are the domain's. */
export const FabricFileBody = Type.Object({
  fabric: Type.Object({
    name: Name,
    credentials: Credentials,
    snmp: Type.Optional(Snmp),
    namespaces: Namespaces,
    settings: Type.Optional(Settings),
  }),
  devices: Type.Optional(Type.Array(Type.Object({
    name: Name,
    serial: Type.Optional(Type.String()),
    profile: Type.String(),
    physicalRole: PhysicalRole,
    roles: Type.Optional(Type.Array(Type.String())),
  }))),
  links: Type.Optional(Type.Array(Type.Union([
    Type.Tuple([Type.String(), Type.String()]),
    Type.Object({ a: LinkEnd, b: LinkEnd }),
  ]))),
}, { $id: 'FabricFile' });

export const FabricReply = Type.Object({
  name: Type.String(),
  namespaces: Namespaces,
  settings: Settings,
  credentials: Type.Object({ username: Type.String() }),
  snmp: Nullable(Type.Object({ version: Type.String(), user: Type.Optional(Type.String()) })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  devices: Type.Optional(Type.Integer()),
  links: Type.Optional(Type.Integer()),
  lockedBy: Type.Optional(Type.String()),
}, { $id: 'Fabric' });

export const FabricPatch = Type.Object({
  settings: Type.Optional(Settings),
  namespaces: Type.Optional(Namespaces),
  credentials: Type.Optional(Credentials),
  snmp: Type.Optional(Nullable(Snmp)),
}, { additionalProperties: false, minProperties: 1 });

export const DeviceReply = Type.Object({
  name: Type.String(),
  serial: Nullable(Type.String()),
  model: Nullable(Type.String()),
  profile: Nullable(Type.String()),
  managementIp: Nullable(Type.String()),
  osVersion: Nullable(Type.String()),
  physicalRole: Nullable(Type.String()),
  roles: Type.Array(Type.String()),
  managedState: Type.String(),
  onboardingState: Nullable(Type.String()),
  hostname: Type.Optional(Nullable(Type.String())),
}, { $id: 'Device' });

export const NewDeviceBody = Type.Object({
  name: Name,
  serial: Type.Optional(Type.String({ minLength: 1 })),
  model: Type.Optional(Type.String()),
  profile: Type.Optional(Type.String()),
  physicalRole: Type.Optional(PhysicalRole),
  roles: Type.Optional(Type.Array(Type.String())),
  managementIp: Type.Optional(Type.String({ format: 'ipv4' })),
  managedState: Type.Optional(ManagedState),
}, { additionalProperties: false });

export const DevicePatchBody = Type.Object({
  name: Type.Optional(Name),
  serial: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
  model: Type.Optional(Nullable(Type.String())),
  profile: Type.Optional(Nullable(Type.String())),
  managementIp: Type.Optional(Nullable(Type.String({ format: 'ipv4' }))),
  osVersion: Type.Optional(Nullable(Type.String())),
  hostname: Type.Optional(Nullable(Type.String())),
  managedState: Type.Optional(ManagedState),
  onboardingState: Type.Optional(Nullable(OnboardingState)),
}, { additionalProperties: false, minProperties: 1 });

export const RolesBody = Type.Object({
  physicalRole: PhysicalRole,
  roles: Type.Array(Type.String()),
}, { additionalProperties: false });

export const LinkBody = Type.Object({ a: LinkEnd, b: LinkEnd }, { additionalProperties: false });
export const LinkReply = Type.Object({ a: LinkEnd, b: LinkEnd, subnet: Type.Optional(Type.String()), anomaly: Type.Optional(Type.String()) });

export const OnboardBody = Type.Object({
  mode: Type.Union([Type.Literal('greenfield'), Type.Literal('brownfield')]),
  expectedDevices: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  serials: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  subnets: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  cablingPlan: Type.Optional(Type.Array(Type.Union([Type.Tuple([Type.String(), Type.String()]), Type.Object({ a: LinkEnd, b: LinkEnd })]))),
  manageUnderlay: Type.Optional(Type.Boolean()),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
}, { additionalProperties: false });

export const AutoconfigureBody = Type.Object({
  dryRun: Type.Optional(Type.Boolean()),
  devices: Type.Optional(Type.Array(Name, { minItems: 1 })),
}, { additionalProperties: false });

export const JobAccepted = Type.Object({ jobId: Type.String() });

export const JobReply = Type.Object({
  id: Type.String(),
  type: Type.String(),
  fabric: Type.Optional(Type.String()),
  state: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  createdAt: Type.String(),
  startedAt: Type.Optional(Type.String()),
  finishedAt: Type.Optional(Type.String()),
  steps: Type.Array(Type.Object({ name: Type.String(), state: Type.String(), device: Type.Optional(Type.String()) })),
  log: Type.Array(Type.Object({ at: Type.String(), message: Type.String(), device: Type.Optional(Type.String()) })),
  devices: Type.Record(Type.String(), Type.Object({
    state: Type.String(), progress: Type.Number(), error: Type.Optional(Type.String()),
    result: Type.Optional(Type.Unknown()), attempts: Type.Optional(Type.Integer()),
  })),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
  cancelRequested: Type.Optional(Type.Boolean()),
}, { $id: 'Job' });

export const ConfigReply = Type.Object({ platform: Type.String(), files: Type.Record(Type.String(), Type.String()) });

export const TokenBody = Type.Object({
  role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });
export const TokenInfo = Type.Object({ id: Type.String(), role: Type.String(), name: Type.Optional(Type.String()), createdAt: Type.String() });
export const TokenCreated = Type.Object({ id: Type.String(), role: Type.String(), name: Type.Optional(Type.String()), createdAt: Type.String(), token: Type.String() });

export const EventReply = Type.Object({
  id: Type.String(), at: Type.String(), actor: Type.String(), action: Type.String(), object: Type.String(), details: Type.Optional(Type.Unknown()),
});

export const ProfileReply = Type.Object({
  name: Type.String(), vendor: Type.String(), platform: Type.String(), models: Type.Array(Type.String()),
  sysObjectIds: Type.Array(Type.String()), ports: Type.Array(Type.Object({ pattern: Type.String(), description: Type.Optional(Type.String()) })),
  hitlessUpgrade: Type.Boolean(), roles: Type.Array(Type.String()),
});

export const Items = <T extends TSchema>(t: T, extra: Record<string, TSchema> = {}) => Type.Object({ items: Type.Array(t), ...extra });
export const FabricParams = Type.Object({ f: Type.String({ minLength: 1, maxLength: 128 }) });
export const DeviceParams = Type.Object({ f: Type.String({ minLength: 1, maxLength: 128 }), d: Type.String({ minLength: 1, maxLength: 128 }) });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });
