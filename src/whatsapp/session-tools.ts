import { HashsendError, invalidRequest } from '../errors.js';
import type { Logger } from '../log.js';
import type { DriverSession, OnWhatsAppResult, Presence } from './driver.js';
import { toJid } from './recipient.js';
import { unsupportedByDriver } from './capabilities.js';
import type { SessionManager } from './sessions.js';

/** Longest a typing or recording indicator is held before it is taken back. */
export const MAX_PRESENCE_HOLD_MS = 60_000;

export interface SessionTools {
  /** Whether `phone` (a number in international form or a user JID) has a WhatsApp account. */
  onWhatsApp(sessionId: string, phone: string): Promise<OnWhatsAppResult>;
  /**
   * Shows `presence` in the chat `to` (a number, user or group JID). With `holdMs`, a typing or recording
   * indicator is taken back (`paused`) after that long, as a person who stopped typing.
   */
  sendPresence(sessionId: string, to: string, presence: Presence, options?: { holdMs?: number }): Promise<{ jid: string }>;
}

/**
 * What a session can do besides sending messages, for any surface: ask WhatsApp about a number, show presence.
 * Drivers offer these optionally; one that does not is `422 unsupported_by_driver`, one not connected `503`.
 */
export const createSessionTools = ({
  sessions,
  log,
}: {
  sessions: Pick<SessionManager, 'get' | 'driverSession'>;
  log: Logger;
}): SessionTools => {
  const connected = <K extends 'onWhatsApp' | 'sendPresence'>(sessionId: string, method: K, what: string) => {
    const info = sessions.get(sessionId);
    const driver = sessions.driverSession(sessionId);
    if (info.state !== 'connected' || !driver) {
      throw new HashsendError('session_not_connected', 503, `session "${sessionId}" is ${info.state}`, { state: info.state });
    }
    const call = driver[method] as DriverSession[K] | undefined;
    if (!call) throw unsupportedByDriver(info.driver, what);
    return call.bind(driver) as NonNullable<DriverSession[K]>;
  };

  return {
    async onWhatsApp(sessionId, phone) {
      const jid = toJid(phone);
      if (!jid.endsWith('@s.whatsapp.net'))
        throw invalidRequest('only a phone number (or its user JID) can be looked up', { phone: phone.slice(0, 64) });
      const ask = connected(sessionId, 'onWhatsApp', 'look numbers up');
      const digits = jid.slice(0, jid.indexOf('@'));
      const [result] = await ask([digits]);
      return result ?? { phone: digits, exists: false };
    },

    async sendPresence(sessionId, to, presence, { holdMs } = {}) {
      const jid = toJid(to);
      const show = connected(sessionId, 'sendPresence', 'show presence');
      await show(presence, jid);
      if (holdMs && (presence === 'composing' || presence === 'recording')) {
        // Nobody waits for the indicator to end: a failure then (the session gone meanwhile) is the log's.
        setTimeout(
          () => {
            Promise.resolve()
              .then(() => connected(sessionId, 'sendPresence', 'show presence')('paused', jid))
              .catch((err: unknown) => log.warn({ err, sessionId }, 'a typing indicator could not be taken back'));
          },
          Math.min(holdMs, MAX_PRESENCE_HOLD_MS),
        ).unref();
      }
      return { jid };
    },
  };
};
