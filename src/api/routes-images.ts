// Software images (issue 15): admins import an OS image from a file on the service host, every
// token may list them, and devices download them, without a token, from
// `GET /images/<name>/<sha256>`: the URL names the checksum, so a device only ever gets the
// bytes the plan recorded (a replaced image answers 404 under the old URL).
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { imageStoreAt, IMAGE_PLATFORMS, type ImageStore, type NewImage } from '../store/images';
import type { Store } from '../store';
import { NAME_PATTERN } from '../domain/schema';
import type { ApiContext } from './context';
import { NameParams } from './schemas';

const E = { $ref: 'Error#' };
const errs = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, E]));

/** The agent's rule for versions (docs/device-agent.md section 6), used for both platforms. */
export const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$';

export const ImageBody = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN, maxLength: 63, description: 'letters, digits, "_", ".", "-"; up to 63' }),
  platform: Type.Union(IMAGE_PLATFORMS.map((p) => Type.Literal(p))),
  version: Type.String({ pattern: VERSION_PATTERN, maxLength: 64, description: 'the version the device reports once it runs this image' }),
  path: Type.String({ minLength: 2, maxLength: 1024, pattern: '^/[^\\u0000-\\u001f\\u007f]*$', description: 'absolute path of a readable file on the service host; the service keeps its own copy' }),
}, { additionalProperties: false });

export const ImageReply = Type.Object({
  name: Type.String(), platform: Type.String(), version: Type.String(), sha256: Type.String(), size: Type.Integer(),
  source: Type.String(), createdAt: Type.String(), url: Type.String({ description: 'path devices download it from (under ZTP_BASE_URL)' }),
});

export const imageStoreOf = (store: Store, dataDir: string): ImageStore => imageStoreAt(store, dataDir);

export const imageUrlPath = (i: { name: string; sha256: string }) => `/images/${encodeURIComponent(i.name)}/${i.sha256}`;

export function registerImageRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const images = imageStoreOf(ctx.store, ctx.config.dataDir);
  const view = <T extends { name: string; sha256: string }>(i: T) => ({ ...i, url: imageUrlPath(i) });

  api.post<{ Body: NewImage }>('/images', {
    config: { role: 'admin' },
    schema: {
      tags: ['images'], summary: 'Import an OS image from a file on the service host (sha256 recorded; JSON only, multipart is not accepted)',
      body: ImageBody, response: { 201: ImageReply, ...errs(400, 409, 415) },
    },
  }, async (req, reply) => reply.status(201).send(view(await images.create(req.body))));

  api.get('/images', {
    config: { role: 'viewer' },
    schema: { tags: ['images'], summary: 'OS images', response: { 200: Type.Object({ items: Type.Array(ImageReply) }) } },
  }, async () => ({ items: (await images.list()).map(view) }));

  api.delete<{ Params: { name: string } }>('/images/:name', {
    config: { role: 'admin' },
    schema: { tags: ['images'], summary: 'Delete an image (409 while an upgrade plan uses it)', params: NameParams, response: { 204: Type.Null(), ...errs(404, 409) } },
  }, async (req, reply) => {
    await images.delete(req.params.name);
    return reply.status(204).send();
  });
}

/** The public download route (registered in a markPublic scope, like /ztp). */
export function imageDownloadRoutes(store: Store, dataDir: string): FastifyPluginAsync {
  const images = imageStoreOf(store, dataDir);
  return async (app) => {
    app.get<{ Params: { name: string; sha: string } }>('/images/:name/:sha', {
      schema: { hide: true } as Record<string, unknown>,
    }, async (req, reply) => {
      const img = /^[0-9a-f]{64}$/.test(req.params.sha) ? await images.get(req.params.name) : undefined;
      if (!img || img.sha256 !== req.params.sha) return reply.code(404).send({ error: 'not_found', message: 'no such image' });
      return reply.code(200)
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(img.size))
        .header('x-checksum-sha256', img.sha256)
        .header('cache-control', 'no-store')
        .send(createReadStream(images.blobPath(img)));
    });
  };
}
