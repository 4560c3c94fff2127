// What every subcommand gets: where to write, and how to exit non-zero quietly.

export interface CliContext {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Thrown by a command that already printed its problems: exit with `code`, print nothing more. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'CliExit';
  }
}
