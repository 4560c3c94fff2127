// Day-2 routes (issue 15): the rolling OS upgrade (dry run: the plan; else a job) and
// maintenance mode of one device (a job), the RMA of a dead device (a job). All are operator
// jobs of the engine.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { Name } from '../domain/schema';
import { imageStoreAt } from '../store/images';
import { planFromStoreFor } from '../jobs/upgrade/inputs';
import { MAX_PARALLEL, PlanError } from '../jobs/upgrade/plan';
import { actorOf, type ApiContext } from './context';
import { ApiError, badRequest, notFound } from './errors';
import { DeviceParams, FabricParams, JobAccepted } from './schemas';
import { imageUrlPath } from './routes-images';
import { badSerial } from '../jobs/rma/cabling';

const E = { $ref: 'Error#' };
const errs = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, E]));

export const UpgradeBody = Type.Object({
  image: Name('an image of GET /images'),
  devices: Type.Optional(Type.Array(Name(), { minItems: 1, maxItems: 100_000, description: 'only these devices (default: every device)' })),
  maxParallel: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PARALLEL, default: 1, description: 'devices per batch at most' })),
  dryRun: Type.Optional(Type.Boolean({ description: 'answer the plan (200) and change nothing' })),
}, { additionalProperties: false });

export const UpgradePlanReply = Type.Object({
  batches: Type.Array(Type.Object({ devices: Type.Array(Type.String()), reason: Type.String() })),
  skipped: Type.Array(Type.Object({ device: Type.String(), reason: Type.String() })),
});

export const MaintenanceBody = Type.Object({ enabled: Type.Boolean({ description: 'true: drain (BGP graceful shutdown); false: restore' }) }, { additionalProperties: false });

export const RmaBody = Type.Object({
  serial: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: "the replacement box's serial (its DHCP reservation and ZTP identity)" }),
  retry: Type.Optional(Type.Boolean({ description: 'run the RMA again for a device already in rma (its last RMA job failed)' })),
}, { additionalProperties: false });

export function registerDay2Routes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, jobs, config } = ctx;
  const deviceOr404 = async (f: string, d: string) => {
    const dev = await store.getDevice(f, d);
    if (dev) return dev;
    if (!(await store.getFabric(f))) throw notFound(`fabric "${f}" not found`);
    throw notFound(`device "${d}" not found in fabric "${f}"`);
  };
  const images = imageStoreAt(store, config.dataDir);
  // Devices fetch images from the ZTP/HTTP server (the service itself unless ZTP_BASE_URL says otherwise).
  const base = (config.ztpBaseUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`).replace(/\/+$/, '');

  api.post<{ Params: { f: string }; Body: { image: string; devices?: string[]; maxParallel?: number; dryRun?: boolean } }>('/fabrics/:f/upgrade', {
    config: { role: 'operator' },
    schema: {
      tags: ['jobs'], summary: 'Hitless rolling OS upgrade: dryRun answers the plan (200), otherwise a job (202)', params: FabricParams, body: UpgradeBody,
      response: { 200: UpgradePlanReply, 202: JobAccepted, ...errs(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { f } = req.params;
    if (!(await store.getFabric(f))) throw notFound(`fabric "${f}" not found`);
    const image = await images.get(req.body.image);
    if (!image) throw badRequest(`image: "${req.body.image}" is not an image (GET /images)`, 'image');
    let plan;
    try {
      plan = await planFromStoreFor(store, f, image, { devices: req.body.devices, maxParallel: req.body.maxParallel });
    } catch (e) {
      if (e instanceof PlanError) throw badRequest(e.message, e.path);
      throw e;
    }
    if (req.body.dryRun) return reply.status(200).send(plan);
    const jobId = await jobs.submit('upgrade', f, {
      image: image.name, ...(req.body.devices ? { devices: req.body.devices } : {}), ...(req.body.maxParallel ? { maxParallel: req.body.maxParallel } : {}),
      imageUrl: base + imageUrlPath(image), requestedBy: actorOf(req).actor,
    });
    return reply.status(202).send({ jobId });
  });

  api.post<{ Params: { f: string; d: string }; Body: { enabled: boolean } }>('/fabrics/:f/devices/:d/maintenance', {
    config: { role: 'operator' },
    schema: {
      tags: ['jobs'], summary: 'Enter (drain with BGP graceful shutdown) or leave maintenance: a job', params: DeviceParams, body: MaintenanceBody,
      response: { 202: JobAccepted, ...errs(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { f, d } = req.params;
    const dev = await deviceOr404(f, d);
    if (!dev.managementIp) throw badRequest(`device "${d}" has no management address (onboard it first)`, 'd');
    if (dev.managedState === 'rma') throw badRequest(`device "${d}" is in RMA: nothing to drain`, 'd');
    const jobId = await jobs.submit('maintenance', f, { device: d, enabled: req.body.enabled, requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });

  api.post<{ Params: { f: string; d: string }; Body: { serial: string; retry?: boolean } }>('/fabrics/:f/devices/:d/rma', {
    config: { role: 'operator' },
    schema: {
      tags: ['jobs'], summary: 'Replace a dead device (RMA) by a box with a new serial and the same identity: a job', params: DeviceParams, body: RmaBody,
      response: { 202: JobAccepted, ...errs(400, 404, 409) },
    },
  }, async (req, reply) => {
    const { f, d } = req.params;
    const dev = await deviceOr404(f, d);
    if (dev.managedState === 'rma' && !req.body.retry) {
      throw new ApiError(409, 'conflict', `device "${d}" is already in RMA (replacement serial ${dev.serial ?? 'none'}): see its RMA job; POST again with retry: true to run it again`);
    }
    if (!dev.managementIp) throw badRequest(`device "${d}" has no management address: nothing to keep for a replacement (onboard it first)`, 'd');
    if (!dev.physicalRole || !dev.profile) throw badRequest(`device "${d}" has no profile or physical role: it has no config to give a replacement`, 'd');
    const holder = await store.getDeviceBySerial(f, req.body.serial);
    const why = badSerial(req.body.serial, dev.managedState === 'rma' ? null : dev.serial, holder && holder.name !== d ? holder.name : undefined);
    if (why) throw badRequest(why, 'serial');
    const jobId = await jobs.submit('rma', f, { device: d, serial: req.body.serial, imageBaseUrl: base, requestedBy: actorOf(req).actor });
    return reply.status(202).send({ jobId });
  });
}
