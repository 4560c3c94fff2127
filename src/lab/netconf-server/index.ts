/**
 * The twin's NETCONF server (the device side, RFC 6241 / RFC 6242 on ssh2): what the device
 * agent (one device per process, config applied to FRR), the scale simulator (hundreds of
 * devices in one process), tests and benchmarks import. Product code never does: it speaks
 * NETCONF through src/netconf (client, framing, XML, errors, transaction), which this reuses.
 *
 *  - device.ts: `NetconfDevice`, one device's running and candidate datastores, locks,
 *    sessions, pending confirmed commit and its timer, rollback history, hooks (`validate`,
 *    `apply`, `getState`, `loadText`) and per-device RPC handlers.
 *  - datastore.ts: what is inside a datastore, schema-less: edit-config merge, subtree filter,
 *    pretty print, diff.
 *  - operations.ts: the RFC 6241 operations; junos.ts: the Junos RPCs (`junos: true`);
 *    load-configuration.ts: the Junos-style load-configuration frame, shared with the agent.
 *  - session.ts: one session (hello, framing, RPC dispatch); server.ts: `NetconfServer`, SSH
 *    host keys and authentication, `listen(device, {host, port})`.
 */
export {
  CAP,
  NS_NETCONF,
  NetconfDevice,
  type ApplyContext,
  type DatastoreName,
  type DeviceEvent,
  type DeviceFacts,
  type DeviceHooks,
  type DeviceSession,
  type HookContext,
  type NetconfDeviceOptions,
  type RpcContext,
  type RpcHandler,
  type RpcResult,
} from './device';
export { ServerSession, errorXml, type SessionHost } from './session';
export { loadConfigurationHandler, type LoadConfigurationFormats } from './load-configuration';
export {
  NetconfServer,
  generateHostKey,
  sshFingerprint,
  staticUsers,
  type AuthRequest,
  type Authenticator,
  type NetconfListener,
  type NetconfServerOptions,
} from './server';
export { diffConfig, mergeConfig, prettyXml, subtreeFilter, type EditOperation } from './datastore';
