// Commit flavours: the two NETCONF dialects of the transaction steps (validate, diff, commit
// confirmed, confirm, roll back). A platform (src/platforms/<name>/) names the one its devices
// speak; pushConfig picks one from the session's hello when the caller does not say.
//
//   RFC 6241: <validate> when offered, the caller's diff, <commit><confirmed/> in SECONDS,
//             <cancel-commit> (confirmed-commit:1.1) or ending the session to roll back.
//   Junos:    <commit-configuration><check/>, get-configuration compare rollback 0,
//             <commit-configuration><confirmed/> in MINUTES, load rollback 1 + commit.
import type { NetconfClient, RpcOptions } from './client';

export type RollbackMethod = 'cancel-commit' | 'junos-rollback' | 'timer' | 'discard';

export interface CommitFlavour {
  /** `rfc` | `junos`: how steps and logs name it */
  readonly name: string;
  /** the session's hello says the device speaks this dialect */
  offeredBy(c: NetconfClient): boolean;
  /** why the device cannot check the candidate (the validate step is skipped), or undefined */
  cannotValidate(c: NetconfClient): string | undefined;
  /** the device's own check of the candidate */
  validate(c: NetconfClient, ro?: RpcOptions): Promise<unknown>;
  /** the device's own candidate-vs-running diff; absent: the caller's computeDiff */
  deviceDiff?(c: NetconfClient, ro?: RpcOptions): Promise<string>;
  commitConfirmed(c: NetconfClient, timeoutSeconds: number, ro?: RpcOptions): Promise<unknown>;
  /** how long the device's confirm timer really runs for a timeout asked in seconds */
  timerSeconds(timeoutSeconds: number): number;
  confirm(c: NetconfClient, ro?: RpcOptions): Promise<unknown>;
  /** takes back an unconfirmed commit at once, when the device can; else its timer does */
  rollback: { method: RollbackMethod; available(c: NetconfClient): boolean; run(c: NetconfClient, ro?: RpcOptions): Promise<unknown> };
  /** ending the session that issued a confirmed commit rolls it back at once (RFC 6241 §8.4) */
  sessionEndRollsBack: boolean;
}

const CAP_VALIDATE = ['urn:ietf:params:netconf:capability:validate:1.1', 'urn:ietf:params:netconf:capability:validate:1.0'];
const CAP_CONFIRMED_COMMIT_11 = 'urn:ietf:params:netconf:capability:confirmed-commit:1.1';
/** Junos announces `http://xml.juniper.net/netconf/junos/1.0` (and more under that prefix). */
const JUNOS_CAP_PREFIX = 'http://xml.juniper.net/netconf/junos';

/** Junos minutes for a timeout in seconds */
export function junosConfirmMinutes(seconds: number): number {
  return Math.max(1, Math.ceil(seconds / 60));
}

export const RFC6241_COMMIT: CommitFlavour = {
  name: 'rfc',
  offeredBy: () => true,
  cannotValidate: (c) => (CAP_VALIDATE.some((u) => c.hasCapability(u)) ? undefined : 'device has no :validate capability'),
  validate: (c, ro) => c.validate('candidate', ro),
  commitConfirmed: (c, seconds, ro) => c.commit({ confirmed: true, confirmTimeout: seconds }, ro),
  timerSeconds: (seconds) => seconds,
  confirm: (c, ro) => c.commit({}, ro),
  rollback: { method: 'cancel-commit', available: (c) => c.hasCapability(CAP_CONFIRMED_COMMIT_11), run: (c, ro) => c.cancelCommit(undefined, ro) },
  sessionEndRollsBack: true,
};

export const JUNOS_COMMIT: CommitFlavour = {
  name: 'junos',
  offeredBy: (c) => c.serverCapabilities.some((u) => u.startsWith(JUNOS_CAP_PREFIX)),
  cannotValidate: () => undefined,
  validate: (c, ro) => c.commitConfiguration({ check: true }, ro),
  deviceDiff: (c, ro) => c.getConfigurationDiff(0, ro),
  commitConfirmed: (c, seconds, ro) => c.commitConfiguration({ confirmed: true, confirmTimeoutMinutes: junosConfirmMinutes(seconds) }, ro),
  timerSeconds: (seconds) => junosConfirmMinutes(seconds) * 60,
  confirm: (c, ro) => c.commitConfiguration({}, ro),
  rollback: {
    method: 'junos-rollback',
    available: () => true,
    run: async (c, ro) => {
      await c.loadConfiguration({ rollback: 1 }, ro);
      await c.commitConfiguration({}, ro);
    },
  },
  // Junos keeps a confirmed commit pending across sessions: only its timer or a rollback ends it.
  sessionEndRollsBack: false,
};

/** By the names pushConfig's `platform` option takes. */
export const COMMIT_FLAVOURS: ReadonlyMap<string, CommitFlavour> = new Map([['rfc', RFC6241_COMMIT], ['junos', JUNOS_COMMIT]]);

/** The dialect a session speaks: the first specific one its hello offers, else RFC 6241. */
export function flavourOfSession(c: NetconfClient): CommitFlavour {
  return [JUNOS_COMMIT].find((f) => f.offeredBy(c)) ?? RFC6241_COMMIT;
}
