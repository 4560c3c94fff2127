// Junos-style load-configuration, shared by the Junos emulation (junos.ts) and the twin's device
// agent (src/lab/agent/netconf.ts), which give it their own meaning of each format.
import { RpcError } from '../../netconf/errors';
import { XmlElement, child } from '../../netconf/xml';
import { checkNotLockedByOther, type RpcContext, type RpcHandler } from './device';

/** How one device loads each `load-configuration` format into a new candidate. */
export interface LoadConfigurationFormats {
  /** format="text": the `<configuration-text>` element */
  text(ctx: RpcContext, configurationText: XmlElement, action: string): string | Promise<string>;
  /** format="xml" */
  xml(ctx: RpcContext, action: string): string;
  /** accept rollback="N" (the candidate becomes rollback N, as on Junos) */
  rollback?: boolean;
}

/**
 * Junos-style `<load-configuration action="merge|replace|override|update" format="xml|text">`:
 * the candidate lock, the action and format checks and the candidate update are the same for
 * every device; what each format means is the device's (the Junos builtin, the twin's agent).
 */
export function loadConfigurationHandler(formats: LoadConfigurationFormats): RpcHandler {
  return (ctx) =>
    ctx.device.exclusive(async () => {
      const { device, session, op } = ctx;
      checkNotLockedByOther(device, 'candidate', session);
      let next: string;
      const rb = op.attrs.rollback;
      if (formats.rollback && rb !== undefined) {
        const cfg = device.rollbackConfig(Number(rb));
        if (cfg === undefined) throw new RpcError('invalid-value', `rollback ${rb} does not exist`, { path: '/rpc/load-configuration' });
        next = cfg;
      } else {
        const action = op.attrs.action ?? 'merge';
        const format = op.attrs.format ?? 'xml';
        if (!['merge', 'replace', 'override', 'update'].includes(action)) {
          throw new RpcError('invalid-value', `load-configuration action '${action}' is not supported`, { path: '/rpc/load-configuration' });
        }
        if (format === 'text') {
          const t = child(op, 'configuration-text');
          if (!t) throw new RpcError('missing-element', 'format="text" needs <configuration-text>', { info: { 'bad-element': 'configuration-text' } });
          next = await formats.text(ctx, t, action);
        } else if (format === 'xml') {
          next = formats.xml(ctx, action);
        } else {
          throw new RpcError('invalid-value', `load-configuration format '${format}' is not supported (xml, text)`, { path: '/rpc/load-configuration' });
        }
      }
      device.candidate = next;
      device.candidateDirty = next !== device.running;
      return { xml: '<load-configuration-results><ok/></load-configuration-results>' };
    });
}
