/**
 * Errors that cross the API boundary carry a stable code and a human sentence.
 * They are turned into `{ ok: false, error: { code, message } }` by the router; class
 * instances never cross a carrier.
 */
export type ErrorCode =
  | 'bad-request'
  | 'unknown-method'
  | 'not-found'
  | 'conflict'
  | 'workspace-invalid'
  | 'workspace-too-new'
  | 'workspace-missing'
  | 'no-workspace'
  | 'forbidden'
  | 'cancelled'
  | 'unavailable'
  | 'internal';

export class PatchdeckError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PatchdeckError';
  }
}

export function isPatchdeckError(error: unknown): error is PatchdeckError {
  return error instanceof PatchdeckError;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
