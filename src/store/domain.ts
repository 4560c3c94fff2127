// The store's bridge to the pure domain and intent modules (H1): parsing, validation and
// allocation. Injectable (StoreOptions.allocate / validate) so tests can exercise the store's
// own guarantees (e.g. refusing a defective allocator's duplicates).
import type { Allocations, FabricFile } from '../domain/types';
import { parseFabricFile } from '../domain/parse';
import { validateFabric } from '../domain/validate';
import { allocate, allocateEsis } from '../intent/allocate';

export type AllocateFn = (file: FabricFile, existing: Allocations) => Allocations;
export type ValidateFn = (file: FabricFile) => void;

export function emptyAllocations(): Allocations {
  return { loopbacks: {}, asns: {}, links: {} };
}

export function parseFile(input: string | object): FabricFile {
  return parseFabricFile(input);
}

/** H1's cross-object validation (pools, profiles, roles, ports); throws FabricError. */
export function defaultValidate(): ValidateFn {
  return (file) => validateFabric(file);
}

/** ESI indexes of the multihomed VPGs (kept, lowest free for new ones); see allocateEsis. */
export function esisFor(file: FabricFile, existing: Allocations): Record<string, number> {
  return allocateEsis(file, existing.esis ?? {});
}

/** H1's pure allocation function. */
export function defaultAllocate(): AllocateFn {
  return (file, existing) => allocate(file, existing);
}
