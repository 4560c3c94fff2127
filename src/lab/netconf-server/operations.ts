/**
 * The RFC 6241 operations every device answers: get, get-config (subtree filter), edit-config,
 * copy-config, lock/unlock, validate, commit (confirmed, persist), cancel-commit,
 * discard-changes, close-session, kill-session. Each works on a NetconfDevice (device.ts) and
 * its datastore content (datastore.ts).
 */
import { RpcError } from '../../netconf/errors';
import { XmlElement, child, childText, elements, innerXml } from '../../netconf/xml';
import { mergeConfig, subtreeFilter } from './datastore';
import { JUNOS_PERSIST, checkNotLockedByOther, type DatastoreName, type NetconfDevice, type RpcHandler } from './device';

/** the text directly inside an element (a capability, a configuration-text), trimmed */
export function childTextOf(el: XmlElement): string {
  return el.children.map((c) => (c.type === 'text' ? c.value : '')).join('').trim();
}

function datastoreOf(el: XmlElement | undefined, what: string, allowed: DatastoreName[]): DatastoreName {
  const d = elements(el)[0];
  if (!d) throw new RpcError('missing-element', `${what} has no datastore`, { type: 'protocol', info: { 'bad-element': what } });
  if (!(allowed as string[]).includes(d.name)) {
    throw new RpcError('invalid-value', `${what} ${d.name} is not supported (use ${allowed.join(' or ')})`, {
      type: 'protocol',
      path: `/rpc/${what}/${d.name}`,
    });
  }
  return d.name as DatastoreName;
}

function filterOf(op: XmlElement): string | undefined {
  const f = child(op, 'filter');
  if (!f) return undefined;
  const type = f.attrs.type ?? Object.entries(f.attrs).find(([k]) => k.endsWith(':type'))?.[1] ?? 'subtree';
  if (type !== 'subtree') throw new RpcError('operation-not-supported', `filter type ${type} is not supported`, { type: 'protocol' });
  return innerXml(f);
}

function readSource(device: NetconfDevice, op: XmlElement, what: string): string {
  const src = child(op, 'source');
  const d = elements(src)[0];
  if (d?.name === 'config') return innerXml(d);
  return device[datastoreOf(src, what === 'validate' ? 'source' : 'source', ['running', 'candidate'])];
}

export function intIn(op: XmlElement, name: string, def: number, path: string): number {
  const t = childText(op, name);
  if (t === undefined) return def;
  const n = Number(t);
  if (!/^\d+$/.test(t) || n <= 0 || n > 0xffffffff) throw new RpcError('invalid-value', `${name} must be a positive integer, got '${t}'`, { type: 'protocol', path });
  return n;
}

export const builtins: Record<string, RpcHandler> = {
  'get-config': ({ device, op }) => {
    const ds = datastoreOf(child(op, 'source'), 'source', ['running', 'candidate']);
    const f = filterOf(op);
    const cfg = device[ds];
    return { data: f === undefined ? cfg : subtreeFilter(cfg, f) };
  },
  get: async ({ device, session, op }) => {
    const f = filterOf(op);
    const state = (await device.hooks.getState?.({ device, session })) ?? '';
    const all = device.running + state;
    return { data: f === undefined ? all : subtreeFilter(all, f) };
  },
  'edit-config': ({ device, session, op }) =>
    device.exclusive(() => {
      const ds = datastoreOf(child(op, 'target'), 'target', device.writableRunning ? ['candidate', 'running'] : ['candidate']);
      checkNotLockedByOther(device, ds, session);
      const defOp = (childText(op, 'default-operation') ?? 'merge') as 'merge' | 'replace' | 'none';
      if (!['merge', 'replace', 'none'].includes(defOp)) {
        throw new RpcError('invalid-value', `default-operation '${defOp}' is not merge, replace or none`, { type: 'protocol' });
      }
      const cfg = child(op, 'config');
      if (!cfg) {
        if (child(op, 'url')) throw new RpcError('operation-not-supported', 'edit-config from url is not supported', { type: 'protocol' });
        throw new RpcError('missing-element', 'edit-config has no config', { type: 'protocol', info: { 'bad-element': 'config' } });
      }
      const next = mergeConfig(device[ds], innerXml(cfg), defOp);
      if (ds === 'candidate') {
        device.candidate = next;
        device.candidateDirty = next !== device.running || device.candidateDirty;
        return;
      }
      return device.commitRunningDirect(next, session);
    }),
  'copy-config': ({ device, session, op }) =>
    device.exclusive(async () => {
      const target = datastoreOf(child(op, 'target'), 'target', device.writableRunning ? ['candidate', 'running'] : ['candidate']);
      checkNotLockedByOther(device, target, session);
      const src = readSource(device, op, 'copy-config');
      if (target === 'candidate') {
        device.candidate = src;
        device.candidateDirty = src !== device.running;
        return;
      }
      await device.commitRunningDirect(src, session);
    }),
  lock: ({ device, session, op }) => {
    const ds = datastoreOf(child(op, 'target'), 'target', ['running', 'candidate']);
    const holder = device.locks[ds];
    if (holder !== undefined) {
      throw new RpcError('lock-denied', `${ds} is already locked by session ${holder}`, { type: 'protocol', info: { 'session-id': String(holder) } });
    }
    if (ds === 'candidate' && device.candidateDirty) {
      throw new RpcError('lock-denied', 'candidate has uncommitted changes; discard-changes first', { type: 'protocol', info: { 'session-id': '0' } });
    }
    device.locks[ds] = session.id;
  },
  unlock: ({ device, session, op }) => {
    const ds = datastoreOf(child(op, 'target'), 'target', ['running', 'candidate']);
    if (device.locks[ds] !== session.id) {
      throw new RpcError('operation-failed', `${ds} is not locked by this session`, { type: 'protocol' });
    }
    delete device.locks[ds];
  },
  validate: async ({ device, session, op }) => {
    const cfg = readSource(device, op, 'validate');
    await device.hooks.validate?.(cfg, { device, session });
  },
  commit: ({ device, session, op }) =>
    device.exclusive(() => {
      const confirmed = child(op, 'confirmed') !== undefined;
      const timeoutS = intIn(op, 'confirm-timeout', 600, '/rpc/commit/confirm-timeout');
      const persist = childText(op, 'persist');
      const persistId = childText(op, 'persist-id');
      return device.commit(session, { confirmed, timeoutMs: timeoutS * 1000, persist, persistId });
    }),
  'cancel-commit': ({ device, session, op }) =>
    device.exclusive(async () => {
      const p = device.pending;
      if (!p) throw new RpcError('operation-failed', 'no confirmed commit is pending', { type: 'protocol' });
      const persistId = childText(op, 'persist-id');
      if (p.persist !== undefined && p.persist !== JUNOS_PERSIST) {
        if (persistId !== p.persist) throw new RpcError('invalid-value', 'persist-id does not match the pending confirmed commit', { type: 'protocol' });
      } else if (p.persist === undefined && p.sessionId !== session.id) {
        throw new RpcError('in-use', `the pending confirmed commit belongs to session ${p.sessionId}`, { type: 'protocol' });
      }
      await device.rollbackPending('cancel-commit', session);
    }),
  'discard-changes': ({ device, session }) =>
    device.exclusive(() => {
      checkNotLockedByOther(device, 'candidate', session);
      device.candidate = device.running;
      device.candidateDirty = false;
    }),
  'close-session': () => undefined,
  'kill-session': ({ device, session, op }) => {
    const t = childText(op, 'session-id');
    const id = Number(t);
    if (!t || !Number.isInteger(id)) throw new RpcError('missing-element', 'kill-session needs session-id', { type: 'protocol', info: { 'bad-element': 'session-id' } });
    if (id === session.id) throw new RpcError('invalid-value', 'a session cannot kill itself (use close-session)', { type: 'protocol' });
    const victim = device.sessions.get(id);
    if (!victim) throw new RpcError('invalid-value', `no session ${id}`, { type: 'protocol' });
    victim.terminate(`killed by session ${session.id}`);
  },
};
