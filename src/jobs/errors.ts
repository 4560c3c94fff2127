// Error classes that decide retry behaviour. Only a TransientError (timeouts, refused
// connections) is retried with backoff; everything else fails the device at once.
import { UnrecoverableError } from 'bullmq';

export { UnrecoverableError };

export class TransientError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'TransientError';
  }
}

/** Thrown by ctx.step()/ctx.checkCancel() once the job has been cancelled. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/**
 * Thrown by a finalize that did not do all it was asked (an onboarding that found fewer devices
 * than expected): the job ends failed with `message`, and `result` is still recorded.
 */
export class JobFailedError extends Error {
  constructor(message: string, readonly result: unknown) {
    super(message);
    this.name = 'JobFailedError';
  }
}

/** Thrown by ctx.step()/ctx.checkCancel() while the process shuts down: the job goes back to its queue. */
export class ShutdownError extends Error {
  constructor() {
    super('the service is stopping: handed back to the queue');
    this.name = 'ShutdownError';
  }
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/** Transient: our own TransientError, or a system error whose code says "try again later". */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e);
}
