import type { SessionState } from '../whatsapp/driver.js';

/** What a running broadcast hears about its session's sends and state. */
export type SendOutcome =
  | { kind: 'sent' }
  /** A send attempt failed: the message failed for good, or went back to wait for a retry. */
  | { kind: 'failed'; code: string }
  | { kind: 'session'; state: SessionState };

export interface PauseState {
  /** Failed attempts since the last successful send. */
  failuresInARow: number;
}

export interface PausePolicyOptions {
  /** Failed attempts in a row that pause the broadcast. @default 5 */
  maxFailuresInARow?: number;
}

export type PauseDecision = { action: 'continue'; state: PauseState } | { action: 'pause'; reason: { code: string; message: string } };

/** Error codes that say WhatsApp (or a gateway in front of it) is throttling this number. */
const RATE_LIMITED = /rate|overlimit|too_many|429/i;

const SESSION_STOPS: Partial<Record<SessionState, { code: string; message: string }>> = {
  logged_out: { code: 'session_logged_out', message: 'the session was logged out (or the number banned); link it again, then resume' },
  conflict: { code: 'session_conflict', message: 'another connection replaced this session; resume once it is connected again' },
  needs_relink: { code: 'session_needs_relink', message: 'WhatsApp no longer accepts this linked device; link it again, then resume' },
};

export const INITIAL_PAUSE_STATE: PauseState = Object.freeze({ failuresInARow: 0 });

/**
 * Whether what just happened suggests the number is being blocked or throttled, so the broadcast should stop
 * sending until the operator looks: a rate-limit error, a session logged out or replaced, or a run of failures.
 * A successful send ends the run. A plain disconnect pauses nothing: the outbox waits for the session anyway.
 */
export const decidePause = (outcome: SendOutcome, state: PauseState, { maxFailuresInARow = 5 }: PausePolicyOptions = {}): PauseDecision => {
  switch (outcome.kind) {
    case 'sent':
      return { action: 'continue', state: { failuresInARow: 0 } };
    case 'session': {
      const stop = SESSION_STOPS[outcome.state];
      return stop ? { action: 'pause', reason: stop } : { action: 'continue', state };
    }
    case 'failed': {
      if (RATE_LIMITED.test(outcome.code)) {
        return {
          action: 'pause',
          reason: { code: 'rate_limited', message: `WhatsApp is limiting this number (${outcome.code}); wait before resuming` },
        };
      }
      const failuresInARow = state.failuresInARow + 1;
      if (failuresInARow >= maxFailuresInARow) {
        return {
          action: 'pause',
          reason: {
            code: 'too_many_failures',
            message: `${failuresInARow} sends failed in a row (last: ${outcome.code}); check the session and the list, then resume`,
          },
        };
      }
      return { action: 'continue', state: { failuresInARow } };
    }
  }
};
