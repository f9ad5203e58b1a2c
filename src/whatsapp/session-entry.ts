import { HashsendError } from '../errors.js';
import type { DriverSession, SessionState } from './driver.js';
import type { SessionInfo } from './session-types.js';

/** What is stored of a session (the `sessions` namespace): who it is, its driver, its account once linked. */
export interface Meta {
  id: string;
  driver: string;
  createdAt: string;
  me?: { id: string; name?: string };
  lastError?: SessionInfo['lastError'];
}

/** A session as this process holds it. */
export interface Entry {
  meta: Meta;
  state: SessionState;
  updatedAt: string;
  qr?: { qr: string; expiresAt: string };
  driver?: DriverSession;
  /** The driver's options, as last read from the session folder. */
  options?: unknown;
  release?: () => Promise<void>;
  /** Bumped on each (re)open, so events from a session already replaced are ignored. */
  generation: number;
  /** Lifecycle operations on one session run one after another. */
  ops: Promise<unknown>;
}

export const sessionNotFound = (id: string) => new HashsendError('session_not_found', 404, `no session "${id}"`);
