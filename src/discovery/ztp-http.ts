// `GET /ztp/<serial>?t=<token>`: the bootstrap a device fetches after its DHCP lease. The token
// comes from the lease's option 67 (or 43), is served once and expires with the lease. The
// reply carries secrets, so it is never logged; failures answer 404 without detail.
// The route is public and faces anyone on the management network, so:
// - GET only: HEAD (fastify would run the handler and burn the one-time token) and every
//   other method answer 405; any other URL under /ztp answers 404 here, with the access log
//   off like the route itself (the app's 404 handler would log the URL with its token);
// - a refused fetch logs one warning per source address per window (LogLimiter), naming the
//   serial asked for, never the token;
// - a store that cannot answer within storeTimeoutMs gives 503 (the device retries) and a token
//   already taken (also one taken after we gave up waiting) is put back, so a Redis hiccup does
//   not cost the device its bootstrap; nothing here answers 500
//   (fastify's own 500 log line would carry the URL, and with it the token).
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { FabricSecrets } from '../store/types';
import { fallbackPlatform, findPlatform } from '../platforms';
import { isStoreError } from '../store/errors';
import type { LeaseStore, ZtpToken } from './dhcp/leases';
import { SERIAL_RE } from './dhcp/identity';
import { LogLimiter, type LogLimitOptions } from '../log-limit';
import { bootstrapOverlayEcmp, renderBootstrap, type BootstrapDevice } from './ztp';

export interface ZtpHttpOptions {
  leases: LeaseStore;
  /** the fabric's decrypted credentials and SNMP settings (Store.getFabricSecrets) */
  secrets: (fabric: string) => Promise<FabricSecrets>;
  /** the fabric's name for a serial, when the device is listed (else the serial is the host name) */
  deviceName?: (fabric: string, serial: string) => Promise<string | undefined>;
  /** the device's record for a serial (name, profile, roles), when listed: decides what the bootstrap carries beyond the basics (overlay-ecmp) */
  device?: (fabric: string, serial: string) => Promise<(BootstrapDevice & { name?: string }) | undefined>;
  /** node profiles folder (tests); default the repository's */
  profilesDir?: string;
  templateDir?: string;
  /** told of each bootstrap served (never with its content) */
  onServed?: (ev: { fabric: string; serial: string; ip: string; remote: string }) => void;
  /** refusal warnings: default one per source address per 10 s */
  logLimit?: LogLimitOptions;
  /** how long a request waits for the token store before it answers 503 (default 5 s) */
  storeTimeoutMs?: number;
}

const NOT_FOUND = { error: 'not_found', message: 'no bootstrap for this URL (unknown, used or expired token)' };
const UNAVAILABLE = { error: 'unavailable', message: 'the bootstrap store is not reachable; retry' };
/** how long a token put back after a failure stays valid */
const PUT_BACK_MS = 10 * 60_000;

/** `p`, or a rejection after `ms` (then `onLate` runs: `p` may still settle). */
function within<T>(p: Promise<T>, ms: number, onLate: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { onLate(); reject(new Error(`no answer within ${ms} ms`)); }, ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A serial as the log may show it: printable, bounded, quoted. */
const shown = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}...` : s);


export const ztpPlugin: FastifyPluginAsync<ZtpHttpOptions> = async (app: FastifyInstance, o: ZtpHttpOptions) => {
  const limited = new LogLimiter((line, meta) => app.log.warn({ component: 'ztp', ...meta }, line), { prefix: 'ztp: ', ...o.logLimit });
  app.addHook('onClose', async () => limited.stop());

  const refuse = (reply: FastifyReply, remote: string, serial: string, why: string) => {
    limited.log(remote, 'refused', () => `ztp: no bootstrap for serial ${shown(serial)} from ${remote}: ${why}`);
    return reply.code(404).header('cache-control', 'no-store').send(NOT_FOUND);
  };

  app.get<{ Params: { serial: string }; Querystring: Record<string, unknown> }>('/ztp/:serial', {
    logLevel: 'warn', // the URL carries a one-time token: keep it out of the access log
    exposeHeadRoute: false,
    schema: { hide: true } as Record<string, unknown>,
  }, async (req, reply) => {
    const serial = req.params.serial;
    const t = req.query.t;
    if (!SERIAL_RE.test(serial)) return refuse(reply, req.ip, serial, 'not a serial');
    if (typeof t !== 'string') return refuse(reply, req.ip, serial, Array.isArray(t) ? 'more than one token' : 'no token');
    let tok: ZtpToken | undefined;
    try {
      // a token of another serial is not consumed: it stays valid for its own device
      const taking = o.leases.takeToken(t, serial);
      tok = await within(taking, o.storeTimeoutMs ?? 5000, () => {
        // given up on: if the store answers later after all, the token goes back
        taking.then((late) => late && o.leases.putToken(late, PUT_BACK_MS)).catch(() => undefined);
      });
    } catch (e) {
      req.log.warn({ component: 'ztp', err: (e as Error).message }, 'ztp: token store failed');
      return reply.code(503).header('retry-after', '5').send(UNAVAILABLE);
    }
    if (!tok) return refuse(reply, req.ip, serial, 'unknown, used or expired token, or one of another serial');
    let doc: { contentType: string; body: string };
    try {
      const secrets = await o.secrets(tok.fabric);
      const dev = await o.device?.(tok.fabric, tok.serial);
      const name = dev ? dev.name : await o.deviceName?.(tok.fabric, tok.serial);
      // without a profile on record, the model its DHCP request named picks one; unlisted: roles not known yet
      const overlayEcmp = bootstrapOverlayEcmp({ ...dev, model: dev?.model ?? tok.model }, o.profilesDir);
      doc = renderBootstrap({
        platform: tok.platform && findPlatform(tok.platform) ? tok.platform : fallbackPlatform().name,
        serial: tok.serial, name, credentials: secrets.credentials, snmp: secrets.snmp, overlayEcmp,
      }, o.templateDir);
    } catch (e) {
      if (isStoreError(e, 'not_found')) return refuse(reply, req.ip, serial, `fabric ${tok.fabric} is gone`);
      await o.leases.putToken(tok, PUT_BACK_MS).catch(() => undefined);
      req.log.warn({ component: 'ztp', serial: tok.serial, err: (e as Error).message }, 'ztp: bootstrap could not be made');
      return reply.code(503).header('retry-after', '5').send(UNAVAILABLE);
    }
    o.onServed?.({ fabric: tok.fabric, serial: tok.serial, ip: tok.ip, remote: req.ip });
    return reply.code(200).header('content-type', doc.contentType).header('cache-control', 'no-store').send(doc.body);
  });

  const quiet = { logLevel: 'warn', schema: { hide: true } as Record<string, unknown> } as const;
  app.route({
    ...quiet, method: app.supportedMethods.filter((m) => m !== 'GET'), url: '/ztp/:serial',
    handler: async (_req, reply) => reply.code(405).header('allow', 'GET').send({ error: 'method_not_allowed', message: 'the bootstrap is fetched with GET' }),
  });
  for (const url of ['/ztp', '/ztp/*']) {
    app.route({ ...quiet, method: app.supportedMethods, url, handler: async (_req, reply) => reply.code(404).header('cache-control', 'no-store').send(NOT_FOUND) });
  }
};
