// JSON schemas (TypeBox) for requests and replies: fastify validates with them and the
// OpenAPI document at /api/v1/openapi.json is generated from them.
import { Type, type TSchema } from '@sinclair/typebox';
import { Cidr, Credentials, Ipv4, Link, LinkEndObject, Name as DName, NAME_PATTERN, PhysicalRole, SAFE_TEXT, Snmp, Text } from '../domain/schema';

const Name = DName();
const ManagedState = Type.Union(['dhcp', 'rma', 'activating', 'active', 'maintenance', 'upgrading', 'error'].map((r) => Type.Literal(r)));
const OnboardingState = Type.Union(['discovered', 'interfaces_onboarded', 'topology_discovered', 'role_discovered', 'underlay_configured'].map((r) => Type.Literal(r)));
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Ref = (id: string) => Type.Unsafe<unknown>({ $ref: `${id}#` });
const Serial = Type.String({ minLength: 1, maxLength: 64, pattern: SAFE_TEXT });

export const ErrorReply = Type.Object({
  error: Type.String(),
  message: Type.String(),
  path: Type.Optional(Type.String()),
  jobId: Type.Optional(Type.String()),
  /** Every problem of a rejected input when there are several (the first is `message`). */
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() }))),
}, { $id: 'Error' });

export const LinkEnd = LinkEndObject;

/** The fabric file as JSON: the one schema (src/domain/schema.ts); deep checks are the domain's. */
export const FabricFileBody = Ref('FabricFile');

const FabricReplySchema = Type.Object({
  name: Type.String(),
  namespaces: Ref('Namespaces'),
  settings: Ref('Settings'),
  credentials: Type.Object({ username: Type.String() }),
  snmp: Nullable(Type.Object({ version: Type.String(), user: Type.Optional(Type.String()) })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  devices: Type.Optional(Type.Integer()),
  links: Type.Optional(Type.Integer()),
  lockedBy: Type.Optional(Type.String()),
}, { $id: 'Fabric' });

export const FabricPatch = Type.Object({
  settings: Type.Optional(Ref('Settings')),
  namespaces: Type.Optional(Ref('Namespaces')),
  credentials: Type.Optional(Credentials),
  snmp: Type.Optional(Nullable(Snmp)),
}, { additionalProperties: false, minProperties: 1 });

export const DeviceReplySchema = Type.Object({
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

const ProfileName = Type.String({ pattern: NAME_PATTERN, maxLength: 63 });
const RoleList = Type.Array(Type.String({ pattern: '^[A-Za-z-]{1,32}$', maxLength: 32 }), { maxItems: 16 });

export const NewDeviceBody = Type.Object({
  name: Name,
  serial: Type.Optional(Serial),
  model: Type.Optional(Text(64)),
  profile: Type.Optional(ProfileName),
  physicalRole: Type.Optional(PhysicalRole),
  roles: Type.Optional(RoleList),
  managementIp: Type.Optional(Ipv4),
  managedState: Type.Optional(ManagedState),
}, { additionalProperties: false });

export const DevicePatchBody = Type.Object({
  name: Type.Optional(Name),
  serial: Type.Optional(Nullable(Serial)),
  model: Type.Optional(Nullable(Text(64))),
  profile: Type.Optional(Nullable(ProfileName)),
  managementIp: Type.Optional(Nullable(Ipv4)),
  osVersion: Type.Optional(Nullable(Text(128))),
  hostname: Type.Optional(Nullable(Text(253))),
  managedState: Type.Optional(ManagedState),
  onboardingState: Type.Optional(Nullable(OnboardingState)),
}, { additionalProperties: false, minProperties: 1 });

export const RolesBody = Type.Object({
  physicalRole: PhysicalRole,
  roles: RoleList,
}, { additionalProperties: false });

export const LinkBody = Type.Object({ a: LinkEnd, b: LinkEnd }, { additionalProperties: false });
export const LinkReply = Type.Object({ a: LinkEnd, b: LinkEnd, subnet: Type.Optional(Type.String()), anomaly: Type.Optional(Type.String()) });

export const OnboardBody = Type.Object({
  mode: Type.Union([Type.Literal('greenfield'), Type.Literal('brownfield')]),
  expectedDevices: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  serials: Type.Optional(Type.Array(Serial, { maxItems: 100000 })),
  subnets: Type.Optional(Type.Array(Cidr, { maxItems: 256 })),
  cablingPlan: Type.Optional(Type.Array(Link, { maxItems: 400000 })),
  manageUnderlay: Type.Optional(Type.Boolean({ description: 'brownfield: false (the default) leaves the running underlay alone (interfaces, underlay BGP, anything hand-written): autoconfigure adds only the overlay and services; true renders the underlay from the adopted running values (a push changes nothing that matches)' })),
  adoptOutsidePools: Type.Optional(Type.Boolean({ description: 'brownfield: adopt running loopbacks, ASNs and link subnets outside the fabric\'s namespaces (the namespaces take them in); without it the job fails naming them' })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
}, { additionalProperties: false });

export const AutoconfigureBody = Type.Object({
  dryRun: Type.Optional(Type.Boolean()),
  renumber: Type.Optional(Type.Boolean({ description: 'adopted (brownfield) fabric: allow a push that changes a running loopback, port address, router id or BGP AS; without it such a push is refused' })),
  devices: Type.Optional(Type.Array(Name, { minItems: 1 })),
  onlyChanged: Type.Optional(Type.Boolean({ description: 'only devices whose rendered config differs from their last committed one (new devices and the peers a change touches), or that the latest drift check found drifted' })),
}, { additionalProperties: false });

export const JobAccepted = Type.Object({ jobId: Type.String() });

const JobReplySchema = Type.Object({
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
  attempts: Type.Optional(Type.Integer({ description: 'tries of the job when it was retried' })),
}, { $id: 'Job' });

export const ConfigReply = Type.Object({ platform: Type.String(), files: Type.Record(Type.String(), Type.String()) });

export const TokenBody = Type.Object({
  role: Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]),
  name: Type.Optional(Text(64)),
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

// Reply schemas with an $id are registered once (app.ts) and referred to: the OpenAPI document
// names them, and references inside them resolve in fastify's shared schema store.
export const FabricReply = Ref('Fabric');
export const DeviceReply = Ref('Device');
export const JobReply = Ref('Job');
export const REPLY_SCHEMAS: TSchema[] = [ErrorReply, FabricReplySchema, DeviceReplySchema, JobReplySchema];
