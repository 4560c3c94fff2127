// Overlay services over REST: virtual networks, logical routers, servers, VPGs, external networks,
// security groups and port profiles. Each create
// or delete is one read-modify-write inside the store's transaction (the whole fabric is
// validated with the change; nothing half-valid is stored), then the devices whose compiled
// plan changed are pushed by an incremental autoconfigure: at once, or as the fabric's
// follow-up job when another job runs (never refused because a job runs).
import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { parseExternalNetwork, parseLogicalRouter, parsePortProfile, parseSecurityGroup, parseServer, parseVirtualNetwork, parseVpg } from '../domain/services';
import { routerExternals } from '../domain/external-networks';
import { SERVICE_SCHEMAS } from '../domain/schema';
import { changeServicesAndPush } from '../jobs/intent-change';
import type { FabricServices } from '../store';
import { actorOf, type ApiContext } from './context';
import { ApiError, notFound } from './errors';
import { FabricParams, Items } from './schemas';

type ListKey = keyof FabricServices;
type Named = { name: string };

const PARSE: Record<ListKey, (v: unknown, p: string) => Named> = {
  virtualNetworks: parseVirtualNetwork, logicalRouters: parseLogicalRouter, servers: parseServer, vpgs: parseVpg,
  externalNetworks: parseExternalNetwork,
  securityGroups: parseSecurityGroup, portProfiles: parsePortProfile,
};

const conflict = (message: string) => new ApiError(409, 'conflict', message);
const E = { $ref: 'Error#' };
const errs = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, E]));
const ItemParams = Type.Object({ f: FabricParams.properties.f, n: Type.String({ minLength: 1, maxLength: 63 }) });
const Pushed = (extra: Record<string, TSchema>) => Type.Object({
  ...extra,
  devices: Type.Array(Type.String(), { description: 'devices whose intended config changed' }),
  jobId: Type.Optional(Type.String({ description: 'the job that pushes them (a follow-up when another job runs)' })),
  behind: Type.Optional(Type.String({ description: 'the running job the follow-up waits for' })),
});

/** Why `name` of `key` cannot be deleted, or undefined. */
function stillUsed(s: FabricServices, key: ListKey, name: string): string | undefined {
  if (key === 'virtualNetworks') {
    const vpgs = s.vpgs.filter((v) => v.bindings.some((b) => b.network === name)).map((v) => v.name);
    const lrs = s.logicalRouters.filter((l) => l.networks.includes(name)).map((l) => l.name);
    if (vpgs.length || lrs.length) return `virtual network "${name}" is still bound (${[...vpgs.map((v) => `vpg ${v}`), ...lrs.map((l) => `logical router ${l}`)].join(', ')})`;
  }
  if (key === 'logicalRouters') {
    const ext = routerExternals(s, name);
    if (ext.length) return `logical router "${name}" is still connected to the outside by ${ext.map((e) => `external network ${e}`).join(', ')}`;
  }
  if (key === 'servers') {
    const vpgs = s.vpgs.filter((v) => v.server === name).map((v) => v.name);
    if (vpgs.length) return `server "${name}" is still used by ${vpgs.map((v) => `vpg ${v}`).join(', ')}`;
  }
  if (key === 'securityGroups') {
    const vpgs = s.vpgs.filter((v) => v.bindings.some((b) => b.securityGroups?.includes(name))).map((v) => `vpg ${v.name}`);
    const sgs = (s.securityGroups ?? []).filter((g) => g.name !== name && g.rules.some((r) => r.remoteGroup === name)).map((g) => `security group ${g.name}`);
    if (vpgs.length || sgs.length) return `security group "${name}" is still used by ${[...vpgs, ...sgs].join(', ')}`;
  }
  if (key === 'portProfiles') {
    const vpgs = s.vpgs.filter((v) => v.portProfile === name).map((v) => `vpg ${v.name}`);
    if (vpgs.length) return `port profile "${name}" is still used by ${vpgs.join(', ')}`;
  }
  return undefined;
}

export function registerServiceRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;

  for (const k of SERVICE_SCHEMAS) {
    const base = `/fabrics/:f/${k.path}`;
    // Registered once (app.ts) under its $id: routes and the OpenAPI document refer to it.
    const schema = Type.Unsafe<unknown>({ $ref: `${k.schema.$id}#` });
    // `?? []`: a record stored before a list existed lacks it
    const list = (s: FabricServices) => (s[k.key] ?? []) as Named[];
    api.get<{ Params: { f: string } }>(base, {
      config: { role: 'viewer' },
      schema: { tags: ['services'], summary: `List ${k.what}s`, params: FabricParams, response: { 200: Items(schema), ...errs(404) } },
    }, async (req) => ({ items: list(await store.getServices(req.params.f)) }));

    api.get<{ Params: { f: string; n: string } }>(`${base}/:n`, {
      config: { role: 'viewer' },
      schema: { tags: ['services'], summary: `One ${k.what}`, params: ItemParams, response: { 200: schema, ...errs(404) } },
    }, async (req) => {
      const item = list(await store.getServices(req.params.f)).find((x) => x.name === req.params.n);
      if (!item) throw notFound(`${k.what} "${req.params.n}" not found in fabric "${req.params.f}"`);
      return item;
    });

    api.post<{ Params: { f: string }; Body: unknown }>(base, {
      config: { role: 'admin' },
      schema: {
        tags: ['services'], summary: `Create a ${k.what} and push it to the devices it touches`, params: FabricParams, body: schema,
        response: { 201: Pushed({ item: schema }), ...errs(400, 404, 409) },
      },
    }, async (req, reply) => {
      const item = PARSE[k.key](req.body, 'body');
      const r = await changeServicesAndPush(ctx, req.params.f, (cur) => {
        if (list(cur).some((x) => x.name === item.name)) throw conflict(`${k.what} "${item.name}" already exists`);
        return { next: { ...cur, [k.key]: [...list(cur), item] } as FabricServices, result: item };
      }, actorOf(req));
      return reply.status(201).send({ item: r.result, devices: r.devices, ...(r.jobId ? { jobId: r.jobId } : {}), ...(r.behind ? { behind: r.behind } : {}) });
    });

    api.delete<{ Params: { f: string; n: string } }>(`${base}/:n`, {
      config: { role: 'admin' },
      schema: {
        tags: ['services'], summary: `Delete a ${k.what} (a bound network: 409) and push the change`, params: ItemParams,
        response: { 202: Pushed({ deleted: Type.String() }), ...errs(404, 409) },
      },
    }, async (req, reply) => {
      const n = req.params.n;
      const r = await changeServicesAndPush(ctx, req.params.f, (cur) => {
        if (!list(cur).some((x) => x.name === n)) throw notFound(`${k.what} "${n}" not found in fabric "${req.params.f}"`);
        const why = stillUsed(cur, k.key, n);
        if (why) throw conflict(why);
        return { next: { ...cur, [k.key]: list(cur).filter((x) => x.name !== n) } as FabricServices, result: n };
      }, actorOf(req));
      return reply.status(202).send({ deleted: n, devices: r.devices, ...(r.jobId ? { jobId: r.jobId } : {}), ...(r.behind ? { behind: r.behind } : {}) });
    });
  }
}
