// Store errors carry a code the API maps to HTTP: not_found 404, conflict/locked 409,
// invalid 400 (with the JSON path), contention 503 (retry budget spent).
export type StoreErrorCode = 'not_found' | 'conflict' | 'locked' | 'invalid' | 'contention';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, readonly path?: string, readonly jobId?: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export const notFound = (what: string) => new StoreError('not_found', `${what} not found`);
export const conflict = (message: string, path?: string) => new StoreError('conflict', message, path);
export const invalid = (message: string, path?: string) => new StoreError('invalid', message, path);
export const locked = (fabric: string, jobId: string) =>
  new StoreError('locked', `fabric ${fabric} is busy: job ${jobId} is running`, undefined, jobId);

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
