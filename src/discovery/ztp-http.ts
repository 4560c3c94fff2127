// `GET /ztp/<serial>?t=<token>`: the bootstrap a device fetches after its DHCP lease. The token
// comes from the lease's option 67 (or 43), is served once and expires with the lease. The
// reply carries secrets, so it is never logged; failures answer 404 without detail.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { FabricSecrets } from '../store/types';
import type { LeaseStore } from './dhcp/leases';
import { fallbackPlatform, findPlatform } from '../platforms';
import { renderBootstrap } from './ztp';

export interface ZtpHttpOptions {
  leases: LeaseStore;
  /** the fabric's decrypted credentials and SNMP settings (Store.getFabricSecrets) */
  secrets: (fabric: string) => Promise<FabricSecrets>;
  /** the fabric's name for a serial, when the device is listed (else the serial is the host name) */
  deviceName?: (fabric: string, serial: string) => Promise<string | undefined>;
  templateDir?: string;
  /** told of each bootstrap served (never with its content) */
  onServed?: (ev: { fabric: string; serial: string; ip: string; remote: string }) => void;
}

export const ztpPlugin: FastifyPluginAsync<ZtpHttpOptions> = async (app: FastifyInstance, o: ZtpHttpOptions) => {
  app.get<{ Params: { serial: string }; Querystring: { t?: string } }>('/ztp/:serial', {
    logLevel: 'warn', // the URL carries a one-time token: keep it out of the access log
    schema: { hide: true } as Record<string, unknown>,
  }, async (req, reply) => {
    const tok = typeof req.query.t === 'string' ? await o.leases.takeToken(req.query.t) : undefined;
    if (!tok || tok.serial !== req.params.serial) {
      return reply.code(404).send({ error: 'not_found', message: 'no bootstrap for this URL (unknown, used or expired token)' });
    }
    const secrets = await o.secrets(tok.fabric);
    const name = await o.deviceName?.(tok.fabric, tok.serial);
    const doc = renderBootstrap({ platform: tok.platform && findPlatform(tok.platform) ? tok.platform : fallbackPlatform().name, serial: tok.serial, name, credentials: secrets.credentials, snmp: secrets.snmp }, o.templateDir);
    o.onServed?.({ fabric: tok.fabric, serial: tok.serial, ip: tok.ip, remote: req.ip });
    return reply.code(200).header('content-type', doc.contentType).header('cache-control', 'no-store').send(doc.body);
  });
};
