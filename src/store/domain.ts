// The store's bridge to the pure domain and intent modules (H1): parsing, validation and
// allocation. Resolved lazily so the store compiles and runs while those modules evolve;
// a missing module is an error at call time, never a silent skip.
import type { Allocations, FabricFile } from '../domain/types';
import { parseFabricFile } from '../domain/parse';

export type AllocateFn = (file: FabricFile, existing: Allocations) => Allocations;
export type ValidateFn = (file: FabricFile) => void;

export function emptyAllocations(): Allocations {
  return { loopbacks: {}, asns: {}, links: {} };
}

export function parseFile(input: string | object): FabricFile {
  return parseFabricFile(input);
}

function load(path: string): Record<string, unknown> | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(path.split('/').pop()!)) {
      return undefined;
    }
    throw e;
  }
}

/** H1's cross-object validation (pools, profiles, roles, ports); throws FabricError. */
export function defaultValidate(): ValidateFn {
  const mod = load('../domain/validate');
  const fn = mod?.validateFabric as ValidateFn | undefined;
  if (!fn) throw new Error('src/domain/validate.ts (validateFabric) is not available');
  return (file) => { fn(file); };
}

/** H1's pure allocation function. */
export function defaultAllocate(): AllocateFn {
  const mod = load('../intent/allocate');
  const fn = mod?.allocate as AllocateFn | undefined;
  if (!fn) throw new Error('src/intent/allocate.ts (allocate) is not available');
  return fn;
}
