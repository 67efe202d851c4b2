// Errors a user can act on. The CLI prints their message as one line and exits with their code;
// anything else is a bug and is reported as such.

/** Wrong flags or values: exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Something in the world is not as needed (no broker, no ledger, no Java): exit 1 by default. */
export class MeterError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
