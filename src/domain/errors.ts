// One error type for everything wrong with a fabric file. `message` is the whole one-line
// text the CLI prints (it starts with the location); `path` is JSON-path-like
// (`devices[3].roles[0]`) so the API can answer 400 {error, message, path}.

export class FabricError extends Error {
  /** JSON-path-like location of the offending value, e.g. `links[4].a.port`. */
  readonly path: string;
  /** Every problem found when validation collected more than one (first one is this). */
  errors: FabricError[];

  constructor(path: string, message: string) {
    super(message);
    this.name = 'FabricError';
    this.path = path;
    this.errors = [this];
  }
}

/** Alias kept for callers that think of it as a validation error. */
export { FabricError as ValidationError };

export function isFabricError(e: unknown): e is FabricError {
  return e instanceof FabricError;
}
