// What a device push gets from the job that runs it (autoconfigure, rollback, follow-ups).
// Its own module so push.ts and autoconfigure.ts both depend on it and not on each other.
import type { DevicePlan } from '../domain/types';
import type { Store } from '../store';

export interface PushContext {
  jobId: string;
  fabric: string;
  device: string;
  plan: DevicePlan;
  platform: string;
  files: Record<string, string>;
  store: Store;
  /** lock, load, diff, discard: nothing changes; the result carries the diff against running */
  dryRun?: boolean;
  /**
   * Brownfield (adopted fabric, no `renumber`): before loading, compare what the device runs
   * with the plan (src/jobs/renumber-guard.ts); a push that would renumber is refused, a dry
   * run reports it.
   */
  guardRenumber?: boolean;
  /**
   * A plan's overlay-ecmp that the device does not run yet (adding it restarts the PFE):
   * 'allow' adds it (autoconfigure of a drained device), 'refuse' fails the push naming the
   * maintenance window (autoconfigure in service); absent, the push leaves it out (the drain
   * and undrain pushes, follow-ups: those must not restart the PFE as a side effect).
   */
  pfeRestart?: 'allow' | 'refuse';
  /**
   * Brownfield with manageUnderlay false: `files` are the service's part only (overlay and
   * services); the push loads them into what the device runs (platform.adoptedFiles), taking out
   * what `ownedBefore` (the service's previous part) had and `files` lost.
   */
  keepUnderlay?: { ownedBefore?: Record<string, string> };
  /** device name -> loopback of every device of the fabric (verify; default: the store's allocations) */
  loopbacks?: Record<string, string>;
  log(message: string): Promise<void>;
  /** Call between phases of a push (lock, load, commit...): stops there on cancel. */
  checkCancel(): Promise<void>;
}
export type PushDeviceFn = (ctx: PushContext) => Promise<Record<string, unknown> | void>;
