/**
 * One session's credential records (Baileys' creds and Signal keys, a driver's options), each a named string: a
 * file in the session's folder, or a field of one Redis hash. What the records mean is the callers' business
 * (auth-store.ts, session-options.ts); how each is kept whole is the backend's.
 */
export interface SessionRecords {
  /** Where they are kept, for messages and logs: a folder, or a Redis key. Never a secret. */
  readonly location: string;
  /**
   * Makes them ready (a folder 0700, leftovers of interrupted writes removed) and names every record held. Throws
   * UnreadableRecordError when one is held that this node cannot open (a value sealed under another key, or altered).
   */
  open(): Promise<string[]>;
  /**
   * The records named, in order: absent ones `undefined`, one that is held but cannot be opened an
   * UnreadableRecordError. Throws when the storage itself fails (a read error, Redis not answering).
   */
  read(names: string[]): Promise<(string | undefined | UnreadableRecordError)[]>;
  /** Sets (a string) or removes (`null`) records; each is whole or absent afterwards, never half written. */
  write(changes: [name: string, value: string | null][]): Promise<void>;
  /** Removes every record; writes already asked finish first, later ones are dropped (a closing socket's). */
  wipe(): Promise<void>;
}

/** The record of a driver's options (the Cloud API's token), beside its credentials. */
export const DRIVER_OPTIONS = 'driver-options';

/** Every session's records, from one backend chosen by `CREDENTIALS_STORE`. */
export interface CredentialStore {
  readonly kind: 'files' | 'redis';
  session(sessionId: string): SessionRecords;
}

/** A record that is there but cannot be used: `message` says why in words an operator can act on. */
export class UnreadableRecordError extends Error {
  constructor(
    readonly record: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnreadableRecordError';
  }
}

/** The store did not answer (Redis down): nothing is known about the records, so nothing may be concluded from it. */
export class StoreUnavailableError extends Error {
  constructor(location: string, options: { cause: unknown }) {
    super(`${location} could not be read: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = 'StoreUnavailableError';
  }
}
