import { backoffDelay, type BackoffOptions } from '../../lib/backoff.js';

/** What ended a connection, as the session saw it. */
export interface Disconnect {
  /** Baileys' `lastDisconnect.error.output.statusCode`; undefined when the network failed under it. */
  statusCode?: number;
  /** Whether the credentials hold a linked device (`creds.account`), i.e. a QR or code was accepted. */
  linked: boolean;
  /** Whether this connection showed a QR code: only then can a 408 mean "QR refs exhausted". */
  qrShown: boolean;
  /** 1 for the first reconnect after a good connection, counting up while reconnects keep failing. */
  attempt: number;
}

export type ReconnectAction =
  /** Connect again at once with the same credentials. */
  | { action: 'restart-now' }
  | { action: 'retry'; delayMs: number }
  /**
   * Do not reconnect: the operator must act. `wipe` removes the credentials first; only a logout the phone
   * itself announced (401) does that, so no new login ever starts silently over a device the operator linked.
   */
  | { action: 'stop'; state: 'logged_out' | 'conflict' | 'needs_relink'; wipe: boolean; reason: string }
  /** Not linked and nobody scanned in time: connect again only when the operator asks for a QR. */
  | { action: 'wait-for-operator' };

/** Baileys' DisconnectReason codes that mean something other than "try again later". */
const RESTART_REQUIRED = 515;
const LOGGED_OUT = 401;
const FORBIDDEN = 403;
const CONNECTION_REPLACED = 440;
const MULTIDEVICE_MISMATCH = 411;
const TIMED_OUT = 408;
const MAX_IMMEDIATE_RESTARTS = 3;

/**
 * Decides how a session reacts to a closed connection, per the table in BAILEYS.md. 408 is both "connection
 * lost" and "QR refs exhausted": unlinked after showing QR codes, it is the latter, so the session waits for
 * the operator instead of producing QR codes forever; before any QR it is a network failure like any other
 * (Baileys maps refused and timed-out connects to 408 too). Every other code, and none, is a
 * transient failure (428, 500, 503, network loss) retried with backoff.
 */
export const decideReconnect = ({ statusCode, linked, qrShown, attempt }: Disconnect, backoff?: BackoffOptions): ReconnectAction => {
  switch (statusCode) {
    case RESTART_REQUIRED:
      // Normal once after pairing; a server that keeps asking gets backoff rather than a tight loop.
      if (attempt > MAX_IMMEDIATE_RESTARTS) return { action: 'retry', delayMs: backoffDelay(attempt, backoff) };
      return { action: 'restart-now' };
    case LOGGED_OUT:
      return { action: 'stop', state: 'logged_out', wipe: true, reason: 'logged out from the phone' };
    case FORBIDDEN:
      return { action: 'stop', state: 'logged_out', wipe: false, reason: 'forbidden: the account is banned or restricted' };
    case CONNECTION_REPLACED:
      return { action: 'stop', state: 'conflict', wipe: false, reason: 'replaced by another connection of this session' };
    case MULTIDEVICE_MISMATCH:
      // WhatsApp refuses this device's multi-device state: only a new link helps, and that is the operator's
      // call (log out, scan a new QR). The credentials stay as they are until then.
      return {
        action: 'stop',
        state: 'needs_relink',
        wipe: false,
        reason: 'multidevice mismatch (411): WhatsApp no longer accepts this linked device; log the session out and link it again',
      };
    case TIMED_OUT:
      if (!linked && qrShown) return { action: 'wait-for-operator' };
      return { action: 'retry', delayMs: backoffDelay(attempt, backoff) };
    default:
      return { action: 'retry', delayMs: backoffDelay(attempt, backoff) };
  }
};
