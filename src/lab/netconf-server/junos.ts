/**
 * The Junos emulation (a device created with `junos: true`): load-configuration (merge, replace,
 * override, update; xml, text; rollback="N"), get-configuration (database, compare="rollback"),
 * commit-configuration (check, confirmed with confirm-timeout in minutes, confirmable from any
 * session), lock-/unlock-configuration and the get-*-information replies built from the
 * device's facts. What Junos does to the datastore content (its delete="delete" and
 * replace="replace" attributes, apply-groups and members as leaf-lists) is in datastore.ts.
 */
import { RpcError } from '../../netconf/errors';
import { child, escapeText, outerXml, parseXml } from '../../netconf/xml';
import { diffConfig, mergeConfig } from './datastore';
import { JUNOS_PERSIST, type DeviceFacts, type NetconfDevice, type RpcHandler } from './device';
import { loadConfigurationHandler } from './load-configuration';
import { builtins, childTextOf, intIn } from './operations';

export const junosBuiltins: Record<string, RpcHandler> = {
  'load-configuration': loadConfigurationHandler({
    rollback: true,
    text: ({ device, session }, t, action) => {
      const text = childTextOf(t);
      return device.hooks.loadText
        ? device.hooks.loadText(device.candidate, text, action, { device, session })
        : `<configuration-text>${escapeText(text)}</configuration-text>`;
    },
    xml: ({ device, op }, action) => {
      const c = child(op, 'configuration');
      if (!c) throw new RpcError('missing-element', 'format="xml" needs <configuration>', { info: { 'bad-element': 'configuration' } });
      return action === 'override' || action === 'update' ? mergeConfig('', outerXml(c), 'replace') : mergeConfig(device.candidate, outerXml(c), 'merge');
    },
  }),
  'get-configuration': ({ device, op }) => {
    if (op.attrs.compare === 'rollback') {
      const n = Number(op.attrs.rollback ?? '0');
      const base = device.rollbackConfig(n);
      if (base === undefined) throw new RpcError('invalid-value', `rollback ${n} does not exist`, { path: '/rpc/get-configuration' });
      const diff = diffConfig(base, device.candidate, [`rollback ${n}`, 'candidate']);
      return { xml: `<configuration-information><configuration-output>${escapeText(diff)}</configuration-output></configuration-information>` };
    }
    const db = op.attrs.database ?? 'candidate';
    const cfg = db === 'committed' ? device.running : device.candidate;
    return { xml: cfg.trim() === '' ? '<configuration/>' : cfg };
  },
  'commit-configuration': ({ device, session, op }) =>
    device.exclusive(async () => {
      const ok = '<commit-results><routing-engine><name>re0</name><commit-success/></routing-engine></commit-results>';
      if (child(op, 'check')) {
        await device.hooks.validate?.(device.candidate, { device, session });
        return { xml: '<commit-results><routing-engine><name>re0</name><commit-check-success/></routing-engine></commit-results>' };
      }
      const confirmed = child(op, 'confirmed') !== undefined;
      const minutes = intIn(op, 'confirm-timeout', 10, '/rpc/commit-configuration/confirm-timeout');
      // Junos confirmed commits are not bound to the session: any commit confirms them
      await device.commit(session, { confirmed, timeoutMs: minutes * device.junosMinuteMs, persist: confirmed ? JUNOS_PERSIST : undefined });
      return { xml: ok };
    }),
  'lock-configuration': (ctx) => builtins.lock({ ...ctx, op: parseXml('<lock><target><candidate/></target></lock>') }),
  'unlock-configuration': (ctx) => builtins.unlock({ ...ctx, op: parseXml('<unlock><target><candidate/></target></unlock>') }),
  'get-system-information': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<system-information><hardware-model>${escapeText(f.model)}</hardware-model><os-name>${escapeText(f.osName ?? 'junos')}</os-name><os-version>${escapeText(f.osVersion)}</os-version><serial-number>${escapeText(f.serial)}</serial-number><host-name>${escapeText(f.hostname)}</host-name></system-information>`,
    };
  },
  'get-chassis-inventory': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<chassis-inventory><chassis><name>Chassis</name><serial-number>${escapeText(f.serial)}</serial-number><description>${escapeText(f.model.toUpperCase())}</description></chassis></chassis-inventory>`,
    };
  },
  'get-software-information': ({ device }) => {
    const f = factsOf(device);
    return {
      xml: `<software-information><host-name>${escapeText(f.hostname)}</host-name><product-model>${escapeText(f.model)}</product-model><product-name>${escapeText(f.model)}</product-name><junos-version>${escapeText(f.osVersion)}</junos-version></software-information>`,
    };
  },
};

function factsOf(device: NetconfDevice): DeviceFacts {
  if (!device.facts) throw new RpcError('operation-failed', 'device has no facts configured');
  return device.facts;
}
