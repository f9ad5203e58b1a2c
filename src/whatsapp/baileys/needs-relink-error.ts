/** Why stored credentials cannot be used; each one means the operator must link the number again. */
export type RelinkReason =
  | 'creds_corrupt'
  | 'creds_unreadable'
  | 'creds_missing'
  /** A sealed record (Redis) that does not open under CREDENTIALS_KEY: another key, altered, or moved from elsewhere. */
  | 'creds_undecryptable';

/**
 * Thrown when a session's stored credentials exist but cannot give back a usable login. The driver turns it
 * into the `needs_relink` state with a log line; it is never answered by starting a fresh login silently,
 * which would throw away a linked device the operator still believes in.
 */
export class NeedsRelinkError extends Error {
  constructor(
    readonly reason: RelinkReason,
    /** The file, or the Redis key and field, that could not be used. */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NeedsRelinkError';
  }
}
