// Fabrics, namespaces, devices, roles, links, intended config, events, and the fabric jobs
// (onboard, autoconfigure, config rollback). Reads need viewer; jobs and role changes operator; the rest admin.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { linkKey, type LinkEnd as LinkEndT, type PhysicalRole } from '../domain/types';
import { intendedConfig } from '../jobs/plan-from-store';
import { computeDrift } from '../jobs/drift';
import { findHistoryEntry } from '../jobs/rollback';
import type { DevicePatch, DeviceRecord, FabricUpdate, NewDevice } from '../store';
import { AllowList } from '../discovery/allow';
import { actorOf, type ApiContext } from './context';
import { FABRIC_FILE_LIMIT } from './limits';
import { ApiError, notFound, badRequest } from './errors';
import { removalRefusals, standingRefusals } from '../jobs/decommission/plan';
import {
  AutoconfigureBody, ConfigReply, DeviceParams, DevicePatchBody, DeviceReply, DeviceReplySchema, EventReply, FabricFileBody,
  FabricParams, FabricPatch, FabricReply, Items, JobAccepted, LinkBody, LinkReply, NewDeviceBody, OnboardBody, RolesBody,
} from './schemas';

const E = { $ref: 'Error#' };
const errs = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, E]));

type P = { f: string };
type PD = { f: string; d: string };

/** `spine1:swp1` -> {device, port} (the fabric file's link form). */
function parseEnd(s: string, path: string): LinkEndT {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) throw badRequest(`${path}: "${s}" is not device:port`, path);
  return { device: s.slice(0, i), port: s.slice(i + 1) };
}

/** The contract's device fields (docs/architecture.md, Contracts), nothing else. */
function deviceView(d: DeviceRecord) {
  return {
    name: d.name, serial: d.serial, model: d.model, profile: d.profile, managementIp: d.managementIp, osVersion: d.osVersion,
    physicalRole: d.physicalRole, roles: d.roles, managedState: d.managedState, onboardingState: d.onboardingState, hostname: d.hostname,
  };
}

export function registerFabricRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, jobs } = ctx;
  const deviceListCache = new Map<string, { records: DeviceRecord[]; json: Buffer }>();
  const needFabric = async (f: string) => {
    const rec = await store.getFabric(f);
    if (!rec) throw notFound(`fabric "${f}" not found`);
    return rec;
  };

  api.get('/fabrics', {
    config: { role: 'viewer' },
    schema: { tags: ['fabrics'], summary: 'List fabrics', response: { 200: Items(FabricReply) } },
  }, async () => ({ items: await store.listFabrics() }));

  api.post<{ Body: unknown }>('/fabrics', {
    config: { role: 'admin' },
    // A whole fabric file (the 5,000-device benchmark's is a few MB); every other body: 1 MiB.
    bodyLimit: FABRIC_FILE_LIMIT,
    schema: { tags: ['fabrics'], summary: 'Create a fabric from a fabric file (JSON)', body: FabricFileBody, response: { 201: FabricReply, ...errs(400, 409) } },
  }, async (req, reply) => {
    const rec = await store.createFabric(req.body as object, actorOf(req));
    return reply.status(201).send(rec);
  });

  api.get<{ Params: P }>('/fabrics/:f', {
    config: { role: 'viewer' },
    schema: { tags: ['fabrics'], summary: 'One fabric (no secrets)', params: FabricParams, response: { 200: FabricReply, ...errs(404) } },
  }, async (req) => {
    const rec = await needFabric(req.params.f);
    // Counts only: HLEN on the store's documented keys (docs/store.md), not the whole lists.
    const [devices, links, lockedBy] = await Promise.all([
      store.redis.hlen(`${store.prefix}f:${req.params.f}:devices`),
      store.redis.hlen(`${store.prefix}f:${req.params.f}:links`),
      store.getFabricLock(req.params.f),
    ]);
    return { ...rec, devices, links, ...(lockedBy ? { lockedBy } : {}) };
  });

  api.patch<{ Params: P; Body: FabricUpdate }>('/fabrics/:f', {
    config: { role: 'admin' },
    schema: { tags: ['fabrics'], summary: 'Change settings, namespaces, credentials or SNMP', params: FabricParams, body: FabricPatch, response: { 200: FabricReply, ...errs(400, 404, 409) } },
  }, async (req) => store.updateFabric(req.params.f, req.body, actorOf(req)));

  api.delete<{ Params: P }>('/fabrics/:f', {
    config: { role: 'admin' },
    schema: { tags: ['fabrics'], summary: 'Delete a fabric (refused while a fabric job runs)', params: FabricParams, response: { 204: Type.Null(), ...errs(404, 409) } },
  }, async (req, reply) => {
    await needFabric(req.params.f);
    await store.deleteFabric(req.params.f, actorOf(req));
    return reply.status(204).send();
  });

  api.get<{ Params: P }>('/fabrics/:f/namespaces', {
    config: { role: 'viewer' },
    schema: { tags: ['fabrics'], summary: 'Address and ASN pools', params: FabricParams, response: { 200: Type.Unsafe({ $ref: 'Namespaces#' }), ...errs(404) } },
  }, async (req) => (await needFabric(req.params.f)).namespaces);

  api.put<{ Params: P; Body: FabricUpdate['namespaces'] }>('/fabrics/:f/namespaces', {
    config: { role: 'admin' },
    schema: {
      tags: ['fabrics'], summary: 'Replace the pools (refused when an allocation would fall outside)', params: FabricParams,
      body: Type.Unsafe({ $ref: 'Namespaces#' }),
      response: { 200: Type.Unsafe({ $ref: 'Namespaces#' }), ...errs(400, 404, 409) },
    },
  }, async (req) => (await store.updateFabric(req.params.f, { namespaces: req.body }, actorOf(req))).namespaces);

  // ------------------------------------------------------------------ devices
  api.get<{ Params: P }>('/fabrics/:f/devices', {
    config: { role: 'viewer' },
    schema: { tags: ['devices'], summary: 'Devices of a fabric', params: FabricParams, response: { 200: Items(DeviceReply), ...errs(404) } },
  }, async (req, reply) => {
    const items = await store.listDevices(req.params.f);
    if (items.length === 0) await needFabric(req.params.f);
    // The store hands back the same frozen records while nothing changed: reuse the JSON.
    const hit = deviceListCache.get(req.params.f);
    if (hit && hit.records.length === items.length && items.every((r, i) => r === hit.records[i])) {
      return reply.type('application/json; charset=utf-8').send(hit.json);
    }
    // Kept as bytes: no re-encoding of a large reply per request.
    const json = Buffer.from(JSON.stringify({ items: items.map(deviceView) }), 'utf8');
    deviceListCache.delete(req.params.f);
    deviceListCache.set(req.params.f, { records: items, json });
    while (deviceListCache.size > 32) deviceListCache.delete(deviceListCache.keys().next().value as string);
    return reply.type('application/json; charset=utf-8').send(json);
  });

  /** DISCOVERY_ALLOW (when set) bounds management addresses too (the store checks the namespace). */
  const allowed = (ip: string | null | undefined) => {
    if (!ip || !ctx.config.discoveryAllow.length) return;
    if (!new AllowList(ctx.config.discoveryAllow).allows(ip)) throw badRequest(`managementIp: ${ip} is outside DISCOVERY_ALLOW (${ctx.config.discoveryAllow.join(', ')})`, 'managementIp');
  };

  api.post<{ Params: P; Body: NewDevice }>('/fabrics/:f/devices', {
    config: { role: 'admin' },
    schema: { tags: ['devices'], summary: 'Add a device', params: FabricParams, body: NewDeviceBody, response: { 201: DeviceReply, ...errs(400, 404, 409) } },
  }, async (req, reply) => {
    allowed(req.body.managementIp);
    return reply.status(201).send(await store.addDevice(req.params.f, req.body, {}, actorOf(req)));
  });

  api.get<{ Params: PD }>('/fabrics/:f/devices/:d', {
    config: { role: 'viewer' },
    schema: {
      tags: ['devices'], summary: 'One device with its ports', params: DeviceParams,
      response: { 200: Type.Composite([DeviceReplySchema, Type.Object({ ports: Type.Array(Type.Object({ name: Type.String(), mac: Type.Optional(Type.String()), operState: Type.Optional(Type.String()), speedMbps: Type.Optional(Type.Number()), description: Type.Optional(Type.String()) })), needsConfig: Type.Boolean() })]), ...errs(404) },
    },
  }, async (req) => {
    const dev = await store.getDevice(req.params.f, req.params.d);
    if (!dev) { await needFabric(req.params.f); throw notFound(`device "${req.params.d}" not found in fabric "${req.params.f}"`); }
    return dev;
  });

  api.patch<{ Params: PD; Body: DevicePatch & { name?: string } }>('/fabrics/:f/devices/:d', {
    config: { role: 'operator' },
    schema: { tags: ['devices'], summary: 'Rename a device or change its facts/states', params: DeviceParams, body: DevicePatchBody, response: { 200: DeviceReply, ...errs(400, 404, 409) } },
  }, async (req) => {
    const { name, ...patch } = req.body;
    const { f, d } = req.params;
    allowed(patch.managementIp);
    // A rename and a patch are one write: both land or neither.
    if (name !== undefined && name !== d) return store.renameDevice(f, d, name, actorOf(req), patch);
    if (Object.keys(patch).length > 0) return store.updateDevice(f, d, patch, actorOf(req));
    const dev = await store.getDevice(f, d);
    if (!dev) throw notFound(`device "${d}" not found in fabric "${f}"`);
    return dev;
  });

  // Removing a device from a live fabric is a job (src/jobs/decommission): drain, push its
  // peers without it, then free its allocations. The refusals answer 409 here already.
  api.delete<{ Params: PD; Querystring: { force?: boolean } }>('/fabrics/:f/devices/:d', {
    config: { role: 'admin' },
    schema: {
      tags: ['jobs'], summary: 'Remove a device: a job (drain, its peers pushed without it, allocations and DHCP freed, history kept)', params: DeviceParams,
      querystring: Type.Object({ force: Type.Optional(Type.Boolean({ description: 'remove although still cabled to managed peers (or its drain fails)' })) }, { additionalProperties: false }),
      response: { 202: JobAccepted, ...errs(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { f, d } = req.params;
    const force = req.query.force === true;
    if (!(await store.getDevice(f, d))) { await needFabric(f); throw notFound(`device "${d}" not found in fabric "${f}"`); }
    const { file } = await store.getFabricFile(f);
    const states = new Map((await store.listDevices(f)).map((x) => [x.name, x.managedState as string]));
    const standing = standingRefusals(removalRefusals(file, states, d), force);
    if (standing.length) throw new ApiError(409, 'conflict', standing.map((r) => r.message).join('; '), 'd');
    const jobId = await jobs.submit('remove-device', f, { device: d, ...(force ? { force } : {}), requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });

  // A changed management address keeps the pinned host key: a device answering there with
  // another key is refused until an admin resets the pin (after an RMA, say).
  api.delete<{ Params: PD }>('/fabrics/:f/devices/:d/host-key', {
    config: { role: 'admin' },
    schema: { tags: ['devices'], summary: 'Forget the pinned NETCONF host key (the next connection pins the key it sees)', params: DeviceParams, response: { 204: Type.Null(), ...errs(404) } },
  }, async (req, reply) => {
    if (!(await store.getDevice(req.params.f, req.params.d))) { await needFabric(req.params.f); throw notFound(`device "${req.params.d}" not found in fabric "${req.params.f}"`); }
    await store.hostKeyStore(req.params.f, actorOf(req)).reset(req.params.d);
    return reply.status(204).send();
  });

  api.put<{ Params: PD; Body: { physicalRole: PhysicalRole; roles: string[] } }>('/fabrics/:f/devices/:d/roles', {
    config: { role: 'operator' },
    schema: { tags: ['devices'], summary: 'Assign physical and routing/bridging roles (checked against the node profile)', params: DeviceParams, body: RolesBody, response: { 200: DeviceReply, ...errs(400, 404) } },
  }, async (req) => store.setDeviceRoles(req.params.f, req.params.d, req.body, actorOf(req)));

  api.get<{ Params: PD }>('/fabrics/:f/devices/:d/config', {
    config: { role: 'viewer' },
    schema: { tags: ['devices'], summary: 'Intended config of a device (no secrets)', params: DeviceParams, response: { 200: ConfigReply, ...errs(400, 404) } },
  }, async (req) => {
    await needFabric(req.params.f);
    if (!(await store.getDevice(req.params.f, req.params.d))) throw notFound(`device "${req.params.d}" not found in fabric "${req.params.f}"`);
    const cfg = await intendedConfig(store, req.params.f, req.params.d);
    if (!cfg) throw badRequest(`device "${req.params.d}" has no plan yet: give it a profile and a physical role`, 'd');
    return cfg;
  });

  // Issue 7: committed config history and drift (running vs intended, read over NETCONF).
  api.get<{ Params: PD; Querystring: { limit?: number } }>('/fabrics/:f/devices/:d/config/history', {
    config: { role: 'viewer' },
    schema: {
      tags: ['devices'], summary: 'Committed configs of a device, newest first (text, diff, job id; then those of boxes removed under its name, marked removed)', params: DeviceParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ at: Type.String(), jobId: Type.String(), text: Type.String(), diff: Type.Optional(Type.String()), platform: Type.Optional(Type.String()), removed: Type.Optional(Type.Boolean({ description: 'a commit of an earlier box removed under this name (the remove-device job kept its history)' })) })) }), ...errs(400, 404) },
    },
  }, async (req) => {
    await needFabric(req.params.f);
    return { items: await store.listConfigCommits(req.params.f, req.params.d, { limit: req.query.limit ?? 10, withRemoved: true }) };
  });

  api.post<{ Params: PD; Body: { version: number } }>('/fabrics/:f/devices/:d/config/rollback', {
    config: { role: 'operator' },
    schema: {
      tags: ['jobs'], summary: 'Push a config-history entry back to the device (commit confirmed, verify, new history entry)', params: DeviceParams,
      body: Type.Object({ version: Type.Integer({ minimum: 0, maximum: 99, description: 'index in GET .../config/history (0: newest)' }) }, { additionalProperties: false }),
      response: { 202: JobAccepted, ...errs(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { f, d } = req.params;
    await needFabric(f);
    if (!(await store.getDevice(f, d))) throw notFound(`device "${d}" not found in fabric "${f}"`);
    const entry = await findHistoryEntry(store, f, d, req.body.version);
    if (!entry) throw notFound(`device "${d}" has no config history version ${req.body.version}`);
    // Pinned by its commit time and job: a commit landing before the job runs shifts the indexes.
    const jobId = await jobs.submit('rollback', f, { device: d, version: req.body.version, at: entry.at, commitJob: entry.jobId, requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });

  api.get<{ Params: P }>('/fabrics/:f/drift', {
    config: { role: 'viewer' },
    schema: {
      tags: ['devices'], summary: 'Running vs intended config per device (unified diff), and the reported OS version vs settings.osVersions', params: FabricParams,
      response: { 200: Type.Object({ items: Type.Array(Type.Object({
        device: Type.String(), drift: Type.Boolean(), diff: Type.String(), error: Type.Optional(Type.String()),
        osVersion: Type.Optional(Type.String()), targetVersion: Type.Optional(Type.String()), versionDrift: Type.Optional(Type.Boolean()),
      })) }), ...errs(404) },
    },
  }, async (req) => {
    await needFabric(req.params.f);
    return { items: await computeDrift(store, req.params.f) };
  });

  // ------------------------------------------------------------------ links
  api.get<{ Params: P }>('/fabrics/:f/links', {
    config: { role: 'viewer' },
    schema: { tags: ['links'], summary: 'Links (with their /31 when addressed, anomalies from discovery)', params: FabricParams, response: { 200: Items(LinkReply), ...errs(404) } },
  }, async (req) => {
    const items = await store.listLinks(req.params.f);
    if (items.length === 0) await needFabric(req.params.f);
    return { items };
  });

  // The stored allocation (loopbacks, ASNs, /31s), read-only: exports document exactly what
  // autoconfigure pushes (fabric export netbox NAME, docs/interop.md).
  api.get<{ Params: P }>('/fabrics/:f/allocations', {
    config: { role: 'viewer' },
    schema: {
      tags: ['fabrics'], summary: 'The stored allocation: loopback and ASN per device, /31 per addressed link (link key a:port--b:port)', params: FabricParams,
      response: { 200: Type.Object({ loopbacks: Type.Record(Type.String(), Type.String()), asns: Type.Record(Type.String(), Type.Integer()), links: Type.Record(Type.String(), Type.String()) }), ...errs(404) },
    },
  }, async (req) => store.getAllocations(req.params.f));

  api.post<{ Params: P; Body: { a: LinkEndT; b: LinkEndT } }>('/fabrics/:f/links', {
    config: { role: 'admin' },
    schema: { tags: ['links'], summary: 'Add a link', params: FabricParams, body: LinkBody, response: { 201: LinkReply, ...errs(400, 404, 409) } },
  }, async (req, reply) => {
    const added = await store.addLinks(req.params.f, [{ a: req.body.a, b: req.body.b }], actorOf(req));
    const key = linkKey(req.body);
    return reply.status(201).send(added.find((l) => linkKey(l) === key) ?? added[0]);
  });

  api.delete<{ Params: { f: string; link: string } }>('/fabrics/:f/links/:link', {
    config: { role: 'admin' },
    schema: {
      tags: ['links'], summary: 'Delete a link, named `deviceA:portA--deviceB:portB` (URL-encoded)',
      params: Type.Object({ f: Type.String({ minLength: 1 }), link: Type.String({ minLength: 3 }) }),
      response: { 204: Type.Null(), ...errs(400, 404) },
    },
  }, async (req, reply) => {
    const parts = req.params.link.split('--');
    if (parts.length !== 2) throw badRequest(`link: "${req.params.link}" is not deviceA:portA--deviceB:portB`, 'link');
    const key = linkKey({ a: parseEnd(parts[0], 'link'), b: parseEnd(parts[1], 'link') });
    await needFabric(req.params.f);
    // Read and write in the store's transaction: a link added meanwhile is kept.
    await store.replaceLinks(req.params.f, (links) => {
      const rest = links.filter((l) => linkKey(l) !== key);
      if (rest.length === links.length) throw notFound(`link ${key} not found in fabric "${req.params.f}"`);
      return rest;
    }, actorOf(req));
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ events
  api.get<{ Params: P; Querystring: { since?: string; limit?: number } }>('/fabrics/:f/events', {
    config: { role: 'viewer' },
    schema: {
      tags: ['fabrics'], summary: 'Event history (who changed what, when), oldest first', params: FabricParams,
      querystring: Type.Object({ since: Type.Optional(Type.String({ maxLength: 40, description: 'an event id (exclusive) or an ISO time (inclusive)' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })) }),
      response: { 200: Items(EventReply, { next: Type.Optional(Type.String()) }), ...errs(400, 404) },
    },
  }, async (req) => {
    await needFabric(req.params.f);
    return store.listEvents(req.params.f, req.query);
  });

  // ------------------------------------------------------------------ fabric jobs
  api.post<{ Params: P; Body: Record<string, unknown> }>('/fabrics/:f/onboard', {
    config: { role: 'operator' },
    schema: { tags: ['jobs'], summary: 'Start onboarding (greenfield ZTP or brownfield sweep)', params: FabricParams, body: OnboardBody, response: { 202: JobAccepted, ...errs(400, 404, 409) } },
  }, async (req, reply) => {
    if (req.body.manageUnderlay !== undefined && req.body.mode !== 'brownfield') throw badRequest('manageUnderlay: only a brownfield onboarding adopts a running underlay', 'manageUnderlay');
    if (req.body.adoptOutsidePools !== undefined && req.body.mode !== 'brownfield') throw badRequest('adoptOutsidePools: only a brownfield onboarding adopts running values', 'adoptOutsidePools');
    await needFabric(req.params.f);
    const jobId = await jobs.submit('onboard', req.params.f, { ...req.body, requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });

  api.post<{ Params: P; Body: { dryRun?: boolean; renumber?: boolean; devices?: string[]; onlyChanged?: boolean } | undefined }>('/fabrics/:f/autoconfigure', {
    config: { role: 'operator' },
    schema: { tags: ['jobs'], summary: 'Allocate, compile, render (and push) every device', params: FabricParams, body: AutoconfigureBody, response: { 202: JobAccepted, ...errs(400, 404, 409) } },
  }, async (req, reply) => {
    await needFabric(req.params.f);
    const body = req.body ?? {};
    const jobId = await jobs.submit('autoconfigure', req.params.f, { dryRun: body.dryRun === true, ...(body.renumber ? { renumber: true } : {}), ...(body.devices ? { devices: body.devices } : {}), ...(body.onlyChanged ? { onlyChanged: true } : {}), requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });

  api.get<{ Params: P; Querystring: { limit?: number } }>('/fabrics/:f/jobs', {
    config: { role: 'viewer' },
    schema: {
      tags: ['jobs'], summary: 'Recent jobs of a fabric, newest first', params: FabricParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }),
      response: { 200: Items(Type.Object({ id: Type.String(), type: Type.String(), state: Type.String(), progress: Type.Integer(), createdAt: Type.String(), finishedAt: Type.Optional(Type.String()), error: Type.Optional(Type.String()) })), ...errs(404) },
    },
  }, async (req) => {
    await needFabric(req.params.f);
    const ids = await jobs.records.listForFabric(req.params.f, req.query.limit ?? 50);
    const items = [];
    for (const id of ids) {
      const v = await jobs.get(id, { logLimit: 1 });
      if (v) items.push(v);
    }
    return { items };
  });
}
