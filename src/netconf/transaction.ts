/**
 * The transaction every configuration push goes through:
 *
 *   lock -> load -> validate -> diff -> commit confirmed -> verify -> confirming commit -> unlock
 *
 * and on failure a rollback suited to where it failed:
 *  - before the confirmed commit: discard-changes (running never changed);
 *  - after it: cancel-commit (RFC 6241 confirmed-commit:1.1), or on Junos `load rollback 1` +
 *    commit, or, when the session is gone or nothing else works, the device's own timer
 *    (the confirmed commit expires and the device restores the previous configuration).
 * The lock is always released and (unless told otherwise) the session closed. Each step speaks
 * the device's dialect, a CommitFlavour (flavours.ts) the caller names or the hello implies.
 *
 * Junos counts confirm-timeout in MINUTES (`<commit-configuration><confirmed/>`), RFC 6241 in
 * SECONDS (`<commit><confirmed/>`): callers give seconds, Junos gets ceil(seconds / 60), at least 1.
 */
import { NetconfClient } from './client';
import { NetconfError, NetconfRpcError } from './errors';
import { COMMIT_FLAVOURS, flavourOfSession, type CommitFlavour, type RollbackMethod } from './flavours';

export { junosConfirmMinutes, type CommitFlavour, type RollbackMethod } from './flavours';

/** A commit flavour's name (src/netconf/flavours.ts): `rfc`, or a vendor dialect. */
export type TransactionPlatform = string;
export type StepName = 'lock' | 'load' | 'validate' | 'diff' | 'commit-confirmed' | 'verify' | 'confirm' | 'discard' | 'rollback' | 'unlock';
export type StepState = 'running' | 'ok' | 'failed' | 'skipped';

export interface TransactionStep {
  name: StepName;
  state: StepState;
  /** ISO time the step started */
  startedAt: string;
  /** duration, once finished */
  ms?: number;
  /** e.g. the rollback method, or the error message */
  detail?: string;
}

export interface PushOptions {
  client: NetconfClient;
  /** put the new configuration into the candidate (edit-config, load-configuration, ...) */
  load: (client: NetconfClient) => Promise<void>;
  /** check the device after the confirmed commit (BGP up, ...); throwing rolls back */
  verify?: (client: NetconfClient) => Promise<void>;
  /** diff for devices that cannot compare (non-Junos); Junos uses get-configuration compare rollback */
  computeDiff?: (client: NetconfClient) => Promise<string>;
  /** how long the device waits for the confirming commit before rolling back, SECONDS */
  confirmTimeoutSeconds: number;
  /** the dialect of the transaction steps; default: the one the session's hello offers */
  flavour?: CommitFlavour;
  /** the same by name (COMMIT_FLAVOURS), when `flavour` is not given */
  platform?: TransactionPlatform;
  /**
   * run an explicit validate step (default true). The commit validates anyway; some servers
   * misbehave after <validate> (yuma123 2.13 netconfd then answers <commit> with <ok/> without
   * applying the candidate), so it can be turned off per platform.
   */
  validate?: boolean;
  /** lock, load, validate, diff, then discard: nothing is committed */
  dryRun?: boolean;
  /** an empty diff commits nothing (default true) */
  skipIfNoChanges?: boolean;
  /**
   * observes every step as it starts and ends; awaited, so an observer may hold the push at a
   * step boundary (the chaos tests stop a worker exactly there). Its errors are ignored.
   */
  onStep?: (step: TransactionStep) => unknown;
  /** close the session at the end (default true) */
  closeWhenDone?: boolean;
  /** per-RPC timeout for commit steps, ms (default: the client's) */
  rpcTimeoutMs?: number;
}

export interface PushResult {
  diff: string;
  steps: TransactionStep[];
  committed: boolean;
  /** set when a rollback happened (or was left to the device's timer) */
  rolledBack?: RollbackMethod;
  /**
   * the confirming commit was sent and no answer came (timeout, session lost): the device runs
   * the new config for good if it arrived, else its confirm timer restores the previous one
   */
  confirmUnknown?: boolean;
}

/** A push that failed; `result` says how far it got and how it was rolled back. */
export class TransactionError extends NetconfError {
  readonly step: StepName;
  readonly result: PushResult;
  readonly cause: unknown;
  constructor(device: string, step: StepName, cause: unknown, result: PushResult, rollbackNote: string) {
    super(device, `${step} failed: ${stripDevice(device, cause)}${rollbackNote}`);
    this.name = 'TransactionError';
    this.step = step;
    this.result = result;
    this.cause = cause;
  }
}

function stripDevice(device: string, e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.startsWith(`${device}: `) ? m.slice(device.length + 2) : m;
}

export async function pushConfig(o: PushOptions): Promise<PushResult> {
  const c = o.client;
  const named = o.platform === undefined ? undefined : COMMIT_FLAVOURS.get(o.platform);
  if (o.platform !== undefined && !named && !o.flavour) throw new RangeError(`unknown commit flavour "${o.platform}" (known: ${[...COMMIT_FLAVOURS.keys()].join(', ')})`);
  const f: CommitFlavour = o.flavour ?? named ?? flavourOfSession(c);
  const steps: TransactionStep[] = [];
  const result: PushResult = { diff: '', steps, committed: false };
  const rpcOpts = o.rpcTimeoutMs ? { timeoutMs: o.rpcTimeoutMs } : undefined;
  if (!Number.isInteger(o.confirmTimeoutSeconds) || o.confirmTimeoutSeconds <= 0) {
    throw new RangeError(`confirmTimeoutSeconds must be a positive integer, got ${o.confirmTimeoutSeconds}`);
  }

  const notify = async (s: TransactionStep): Promise<void> => {
    try {
      await o.onStep?.({ ...s });
    } catch { /* an observer never changes the outcome of a push */ }
  };
  const step = async <T>(name: StepName, fn: () => Promise<T>): Promise<T> => {
    const s: TransactionStep = { name, state: 'running', startedAt: new Date().toISOString() };
    const t0 = Date.now();
    steps.push(s);
    await notify(s);
    try {
      const r = await fn();
      s.state = 'ok';
      return r;
    } catch (e) {
      s.state = 'failed';
      s.detail = stripDevice(c.device, e);
      throw e;
    } finally {
      s.ms = Date.now() - t0;
      await notify(s);
    }
  };
  const skip = async (name: StepName, detail: string) => {
    const s: TransactionStep = { name, state: 'skipped', startedAt: new Date().toISOString(), ms: 0, detail };
    steps.push(s);
    await notify(s);
  };
  /** best effort: a failure here is recorded, never thrown over the original error */
  const tryStep = async (name: StepName, fn: () => Promise<unknown>, detail?: string): Promise<boolean> => {
    if (!c.isOpen) {
      await skip(name, 'session closed');
      return false;
    }
    try {
      await step(name, async () => {
        await fn();
      });
      if (detail) steps[steps.length - 1].detail = detail;
      return true;
    } catch {
      return false;
    }
  };

  let locked = false;
  let confirmedPending = false;
  let confirmSent = false;
  let failedStep: StepName = 'lock';
  try {
    failedStep = 'lock';
    await step('lock', () => c.lock('candidate', rpcOpts));
    locked = true;

    failedStep = 'load';
    await step('load', () => o.load(c));

    failedStep = 'validate';
    const noValidate = o.validate === false ? 'turned off by the caller' : f.cannotValidate(c);
    if (noValidate !== undefined) await skip('validate', noValidate);
    else await step('validate', () => f.validate(c, rpcOpts));

    failedStep = 'diff';
    result.diff = await step('diff', async () => {
      if (f.deviceDiff) return f.deviceDiff(c, rpcOpts);
      return o.computeDiff ? o.computeDiff(c) : '';
    });

    if (o.dryRun || ((o.skipIfNoChanges ?? true) && result.diff.trim() === '' && (f.deviceDiff || o.computeDiff))) {
      await tryStep('discard', () => c.discardChanges(rpcOpts), o.dryRun ? 'dry run' : 'no changes');
      await tryStep('unlock', () => c.unlock('candidate', rpcOpts));
      locked = false;
      return result;
    }

    failedStep = 'commit-confirmed';
    await step('commit-confirmed', () => f.commitConfirmed(c, o.confirmTimeoutSeconds, rpcOpts));
    confirmedPending = true;

    failedStep = 'verify';
    if (o.verify) await step('verify', () => o.verify!(c));
    else await skip('verify', 'no verify step given');

    failedStep = 'confirm';
    // Sent on an open session, a confirm that gets no answer may or may not have been applied.
    await step('confirm', () => {
      confirmSent = c.isOpen;
      return f.confirm(c, rpcOpts);
    });
    confirmedPending = false;
    result.committed = true;

    await tryStep('unlock', () => c.unlock('candidate', rpcOpts));
    locked = false;
    return result;
  } catch (err) {
    let note = '';
    if (confirmedPending || (failedStep === 'commit-confirmed' && !(err instanceof NetconfRpcError))) {
      // running may hold the unconfirmed change: take it back
      let method: RollbackMethod = 'timer';
      if (c.isOpen && f.rollback.available(c)) {
        if (await tryStep('rollback', () => f.rollback.run(c, rpcOpts))) method = f.rollback.method;
      }
      if (method === 'timer') {
        await skip('rollback', `left to the device: the confirmed commit expires within ${o.confirmTimeoutSeconds} s or when the session ends`);
        // RFC 6241: ending the session that issued a confirmed commit rolls it back at once
        if (f.sessionEndRollsBack) c.destroy();
      } else steps[steps.length - 1].detail = method;
      result.rolledBack = method;
      note = method === 'timer' ? '; rollback left to the device (confirm timer / session end)' : `; rolled back (${method})`;
      if (method === 'timer' && failedStep === 'confirm' && confirmSent && !(err instanceof NetconfRpcError)) {
        result.confirmUnknown = true;
        note = '; no answer to the confirming commit: the device keeps the new config if it arrived, else its confirm timer restores the previous one';
      }
    } else if (locked && c.isOpen) {
      await tryStep('discard', () => c.discardChanges(rpcOpts));
      result.rolledBack = 'discard';
      note = '; candidate discarded, running unchanged';
    } else {
      note = '; running unchanged';
    }
    if (locked) await tryStep('unlock', () => c.unlock('candidate', rpcOpts));
    locked = false;
    throw new TransactionError(c.device, failedStep, err, result, note);
  } finally {
    if (o.closeWhenDone ?? true) await c.close();
  }
}
