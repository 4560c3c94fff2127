import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext } from './context';
import { notFound } from './errors';
import { IdParams, JobReply } from './schemas';

const E = { $ref: 'Error#' };
/** Cancel takes no input: an empty body, `{}` or `null` (a schema all the same, for clients). */
const NoBody = Type.Union([Type.Object({}, { additionalProperties: false }), Type.Null()], { description: 'nothing: send no body or {}' });

export function registerJobRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get<{ Params: { id: string }; Querystring: { logLimit?: number } }>('/jobs/:id', {
    config: { role: 'viewer' },
    schema: {
      tags: ['jobs'], summary: 'A job: state, progress 0-100, steps per device, log, result', params: IdParams,
      querystring: Type.Object({ logLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }),
      response: { 200: JobReply, 404: E },
    },
  }, async (req) => {
    const v = await ctx.jobs.get(req.params.id, { logLimit: req.query.logLimit ?? 1000 });
    if (!v) throw notFound(`job "${req.params.id}" not found`);
    return v;
  });

  api.post<{ Params: { id: string } }>('/jobs/:id/cancel', {
    config: { role: 'operator' },
    schema: { tags: ['jobs'], summary: 'Cancel: devices not started are removed, running ones stop at their next step', params: IdParams, body: NoBody, response: { 202: JobReply, 404: E, 409: E } },
  }, async (req, reply) => reply.status(202).send(await ctx.jobs.cancel(req.params.id)));
}
