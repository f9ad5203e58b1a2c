import { HashsendError } from '../errors.js';
import type { SessionEvent } from './session-types.js';
import { sessionNotFound } from './session-entry.js';

const LINKING_STATES: ReadonlySet<string> = new Set(['starting', 'reconnecting', 'qr']);
export const isLinking = (state: string) => LINKING_STATES.has(state);

/**
 * Resolves at the session's next QR, or once it settles in a state that will show none (linked, stopped, …);
 * `session_not_found` if it is deleted meanwhile, `504 qr_timeout` after `timeoutMs`.
 */
export const waitForLinkable = (subscribe: (listener: (event: SessionEvent) => void) => () => void, id: string, timeoutMs: number) =>
  new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new HashsendError('qr_timeout', 504, 'the session did not show a QR code in time')), timeoutMs);
    const off = subscribe((event) => {
      if (event.type === 'qr' && event.sessionId === id) done();
      if (event.type === 'state' && event.session.id === id && !isLinking(event.session.state)) done();
      if (event.type === 'deleted' && event.sessionId === id) done(sessionNotFound(id));
    });
  });
