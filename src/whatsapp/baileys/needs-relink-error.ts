/** Why stored credentials cannot be used; each one means the operator must link the number again. */
export type RelinkReason = 'creds_corrupt' | 'creds_unreadable' | 'creds_missing';

/**
 * Thrown when a session's credential folder exists but cannot give back a usable login. The driver turns it
 * into the `needs_relink` state with a log line; it is never answered by starting a fresh login silently,
 * which would throw away a linked device the operator still believes in.
 */
export class NeedsRelinkError extends Error {
  constructor(
    readonly reason: RelinkReason,
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NeedsRelinkError';
  }
}
