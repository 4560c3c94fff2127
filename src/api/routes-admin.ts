// Tokens (admin), node profiles and the fabric file's JSON Schema (read).
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { fabricJsonSchemaText } from '../domain/schema-docs';
import { loadProfiles, profileNamed, type ProfileSet } from '../domain/profiles';
import type { Role } from './auth';
import { actorOf, type ApiContext } from './context';
import { notFound } from './errors';
import { listAudit } from './security';
import { IdParams, Items, NameParams, ProfileReply, TokenBody, TokenCreated, TokenInfo } from './schemas';

const E = { $ref: 'Error#' };

export function registerAdminRoutes(api: FastifyInstance, ctx: ApiContext): void {
  let profiles: ProfileSet | undefined;
  const allProfiles = () => (profiles ??= loadProfiles());

  api.get('/node-profiles', {
    config: { role: 'viewer' },
    schema: { tags: ['node-profiles'], summary: 'Node profiles (device models and the roles they may take)', response: { 200: Items(ProfileReply) } },
  }, async () => ({ items: Object.values(allProfiles()).sort((a, b) => a.name.localeCompare(b.name)) }));

  api.get<{ Params: { name: string } }>('/node-profiles/:name', {
    config: { role: 'viewer' },
    schema: { tags: ['node-profiles'], summary: 'One node profile', params: NameParams, response: { 200: ProfileReply, 404: E } },
  }, async (req) => {
    const p = profileNamed(allProfiles(), req.params.name);
    if (!p) throw notFound(`node profile "${req.params.name}" not found`);
    return p;
  });

  // The JSON Schema of the fabric file, the same bytes as schemas/fabric.schema.json: editors
  // and clients validate fabric files with it before they send one.
  let schemaText: string | undefined;
  api.get('/schemas/fabric.json', {
    config: { role: 'viewer' },
    schema: {
      tags: ['schemas'], operationId: 'getFabricFileSchema', summary: 'The fabric file as JSON Schema (draft-07), for editors and clients',
      response: { 200: Type.Object({}, { additionalProperties: true, description: 'a JSON Schema document' }) },
    },
  }, async (_req, reply) => reply.type('application/json; charset=utf-8').send(schemaText ??= fabricJsonSchemaText()));

  api.post<{ Body: { role: Role; name?: string } }>('/tokens', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'Create an API token (shown once)', body: TokenBody, response: { 201: TokenCreated, 400: E } },
  }, async (req, reply) => {
    const { token, info } = await ctx.tokens.create(req.body.role, req.body.name);
    req.log.info({ tokenId: info.id, role: info.role, by: actorOf(req).actor }, 'token created');
    return reply.status(201).send({ ...info, token });
  });

  api.get('/tokens', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'API tokens (ids and roles, never the tokens)', response: { 200: Items(TokenInfo) } },
  }, async () => ({ items: await ctx.tokens.list() }));

  api.delete<{ Params: { id: string } }>('/tokens/:id', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'Revoke a token', params: IdParams, response: { 204: Type.Null(), 404: E } },
  }, async (req, reply) => {
    if (!(await ctx.tokens.revoke(req.params.id))) throw notFound(`token "${req.params.id}" not found`);
    req.log.info({ tokenId: req.params.id, by: actorOf(req).actor }, 'token revoked');
    return reply.status(204).send();
  });

  api.get<{ Querystring: { since?: string; limit?: number } }>('/audit', {
    config: { role: 'admin' },
    schema: {
      tags: ['tokens'], summary: 'Audit trail: every authenticated write and refused request, oldest first',
      querystring: Type.Object({ since: Type.Optional(Type.String({ pattern: '^[0-9]+-[0-9]+$', maxLength: 40 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })) }),
      response: {
        200: Items(Type.Object({
          id: Type.String(), at: Type.String(), actor: Type.String(), method: Type.String(), route: Type.String(), status: Type.Integer(), ip: Type.String(),
          params: Type.Optional(Type.Record(Type.String(), Type.String())),
        }), { next: Type.Optional(Type.String()) }),
      },
    },
  }, async (req) => listAudit(ctx.store.redis, req.query));
}
