// Overlay services over REST (DESIGN §5 "coming next"): virtual networks, logical routers,
// servers and VPGs. Each create or delete validates the whole fabric with the change (the
// store refuses anything half-valid), then pushes it by an incremental autoconfigure of only
// the devices whose compiled plan changed. A network still bound (VPG or LR) is refused with 409.
import type { FastifyInstance } from 'fastify';
import { parseLogicalRouter, parseServer, parseVirtualNetwork, parseVpg } from '../domain/services';
import { planFromStore } from '../jobs/autoconfigure';
import type { FabricServices } from '../store';
import { actorOf, type ApiContext } from './app';
import { ApiError, notFound } from './errors';

type Kind = 'virtual-networks' | 'logical-routers' | 'servers' | 'vpgs';
type ListKey = keyof FabricServices;

const KINDS: { path: Kind; key: ListKey; what: string; parse: (v: unknown, p: string) => { name: string } }[] = [
  { path: 'virtual-networks', key: 'virtualNetworks', what: 'virtual network', parse: parseVirtualNetwork },
  { path: 'logical-routers', key: 'logicalRouters', what: 'logical router', parse: parseLogicalRouter },
  { path: 'servers', key: 'servers', what: 'server', parse: parseServer },
  { path: 'vpgs', key: 'vpgs', what: 'VPG', parse: parseVpg },
];

const conflict = (message: string) => new ApiError(409, 'conflict', message);

/** Why `name` of `key` cannot be deleted, or undefined. */
function stillUsed(s: FabricServices, key: ListKey, name: string): string | undefined {
  if (key === 'virtualNetworks') {
    const vpgs = s.vpgs.filter((v) => v.bindings.some((b) => b.network === name)).map((v) => v.name);
    const lrs = s.logicalRouters.filter((l) => l.networks.includes(name)).map((l) => l.name);
    if (vpgs.length || lrs.length) return `virtual network "${name}" is still bound (${[...vpgs.map((v) => `vpg ${v}`), ...lrs.map((l) => `logical router ${l}`)].join(', ')})`;
  }
  if (key === 'servers') {
    const vpgs = s.vpgs.filter((v) => v.server === name).map((v) => v.name);
    if (vpgs.length) return `server "${name}" is still used by ${vpgs.map((v) => `vpg ${v}`).join(', ')}`;
  }
  return undefined;
}

export function registerServiceRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, jobs } = ctx;

  /** Plans per device (JSON) of the fabric as stored, for "which devices does this touch". */
  const planTexts = async (f: string): Promise<Map<string, string>> => {
    const { plans } = await planFromStore(store, f, false);
    return new Map(plans.map((p) => [p.name, JSON.stringify(p)]));
  };

  /** Stores the new services and pushes the devices whose plan changed (none: no job). */
  const apply = async (f: string, next: FabricServices, actor: { actor: string }) => {
    const before = await planTexts(f);
    await store.setServices(f, next, actor);
    const after = await planTexts(f);
    const devices = [...after.keys()].filter((d) => before.get(d) !== after.get(d)).sort();
    if (!devices.length) return { devices, jobId: undefined as string | undefined };
    const jobId = await jobs.submit('autoconfigure', f, { dryRun: false, devices, requestedBy: actor.actor });
    return { devices, jobId };
  };

  for (const k of KINDS) {
    const base = `/fabrics/:f/${k.path}`;
    api.get<{ Params: { f: string } }>(base, {
      config: { role: 'viewer' },
      schema: { tags: ['services'], summary: `List ${k.what}s` },
    }, async (req) => ({ items: (await store.getServices(req.params.f))[k.key] }));

    api.get<{ Params: { f: string; n: string } }>(`${base}/:n`, {
      config: { role: 'viewer' },
      schema: { tags: ['services'], summary: `One ${k.what}` },
    }, async (req) => {
      const item = ((await store.getServices(req.params.f))[k.key] as { name: string }[]).find((x) => x.name === req.params.n);
      if (!item) throw notFound(`${k.what} "${req.params.n}" not found in fabric "${req.params.f}"`);
      return item;
    });

    api.post<{ Params: { f: string }; Body: unknown }>(base, {
      config: { role: 'admin' },
      schema: { tags: ['services'], summary: `Create a ${k.what} and push it to the devices it touches` },
    }, async (req, reply) => {
      const item = k.parse(req.body, 'body');
      const cur = await store.getServices(req.params.f);
      if ((cur[k.key] as { name: string }[]).some((x) => x.name === item.name)) throw conflict(`${k.what} "${item.name}" already exists`);
      const next = { ...cur, [k.key]: [...cur[k.key], item] } as FabricServices;
      const r = await apply(req.params.f, next, actorOf(req));
      return reply.status(201).send({ item, devices: r.devices, ...(r.jobId ? { jobId: r.jobId } : {}) });
    });

    api.delete<{ Params: { f: string; n: string } }>(`${base}/:n`, {
      config: { role: 'admin' },
      schema: { tags: ['services'], summary: `Delete a ${k.what} (a bound network: 409) and push the change` },
    }, async (req, reply) => {
      const cur = await store.getServices(req.params.f);
      const list = cur[k.key] as { name: string }[];
      if (!list.some((x) => x.name === req.params.n)) throw notFound(`${k.what} "${req.params.n}" not found in fabric "${req.params.f}"`);
      const why = stillUsed(cur, k.key, req.params.n);
      if (why) throw conflict(why);
      const next = { ...cur, [k.key]: list.filter((x) => x.name !== req.params.n) } as FabricServices;
      const r = await apply(req.params.f, next, actorOf(req));
      return reply.status(202).send({ deleted: req.params.n, devices: r.devices, ...(r.jobId ? { jobId: r.jobId } : {}) });
    });
  }
}
