// Backup and restore of the whole store (admin): GET /backup is the file, POST /restore writes
// one (refused over a non-empty store unless ?force=true). What the file holds: src/store/backup.ts.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { BACKUP_FORMAT, BACKUP_VERSION, type BackupFile } from '../store';
import { actorOf, type ApiContext } from './context';
import { FABRIC_FILE_LIMIT } from './limits';

const E = { $ref: 'Error#' };

const BackupRecord = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 512 }),
  type: Type.Union(['string', 'hash', 'set', 'list', 'zset', 'stream'].map((t) => Type.Literal(t))),
  value: Type.Unknown({ description: 'string; hash: {field: value}; set, list: [string]; zset: [[member, score]]; stream: [[id, [field, value, ...]]]' }),
}, { additionalProperties: false });

const Counts = Type.Object({
  fabrics: Type.Integer(), devices: Type.Integer(), links: Type.Integer(), hostKeys: Type.Integer(),
  configCommits: Type.Integer(), events: Type.Integer(), tokens: Type.Integer(),
});

export const BackupFileSchema = Type.Object({
  format: Type.Literal(BACKUP_FORMAT),
  version: Type.Integer({ minimum: 1, description: `backup file version (this release writes ${BACKUP_VERSION})` }),
  schema: Type.Integer({ minimum: 0, description: 'the store layout version of the records' }),
  createdAt: Type.String(),
  keyId: Type.String({ maxLength: 64, description: 'which store key the secrets are encrypted with (a hash; never the key)' }),
  counts: Counts,
  store: Type.Array(BackupRecord),
  tokens: Type.Array(BackupRecord),
}, { additionalProperties: false });

const RestoreReply = Type.Object({
  counts: Counts,
  replaced: Type.Boolean({ description: 'true when a non-empty store was replaced (force)' }),
  migrated: Type.Array(Type.String(), { description: 'schema migration steps run on the restored data' }),
});

const RestoreQuery = Type.Object({ force: Type.Optional(Type.Boolean({ description: 'replace a store that is not empty' })) });

export function registerBackupRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/backup', {
    config: { role: 'admin' },
    schema: {
      tags: ['backup'], operationId: 'getBackup', summary: 'The whole store as one versioned file (secrets stay encrypted; the store key is not in it)',
      response: { 200: BackupFileSchema, 503: E },
    },
  }, async (req) => {
    const file = await ctx.store.backup();
    req.log.info({ by: actorOf(req).actor, counts: file.counts }, 'backup made');
    return file;
  });

  api.post<{ Body: Static<typeof BackupFileSchema>; Querystring: Static<typeof RestoreQuery> }>('/restore', {
    config: { role: 'admin' },
    bodyLimit: FABRIC_FILE_LIMIT,
    schema: {
      tags: ['backup'], operationId: 'restoreBackup', summary: 'Restore a backup file (refused over a non-empty store unless force=true)',
      querystring: RestoreQuery, body: BackupFileSchema, response: { 200: RestoreReply, 400: E, 409: E, 503: E },
    },
  }, async (req) => {
    const res = await ctx.store.restore(req.body as BackupFile, { force: req.query.force === true });
    req.log.info({ by: actorOf(req).actor, counts: res.counts, replaced: res.replaced }, 'backup restored');
    return res;
  });
}
