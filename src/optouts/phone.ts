import { HashsendError } from '../errors.js';
import { toJid } from '../whatsapp/recipient.js';

/** A number as a suppression list keeps it: the user JID WhatsApp addresses, and its digits. */
export interface OptOutNumber {
  jid: string;
  /** Digits only: the international number, or a LID's id when WhatsApp named the sender only by its LID. */
  phone: string;
}

/**
 * A phone number in any form `toJid` takes (`+49 151 …`, `4915…`, `4915…@s.whatsapp.net`, a LID) as the list keeps
 * it. A group cannot opt out: `invalid_recipient`, like any other value that names no person.
 */
export const optOutNumber = (value: string): OptOutNumber => {
  const jid = toJid(value);
  if (jid.endsWith('@g.us')) {
    throw new HashsendError('invalid_recipient', 400, `"${value.slice(0, 64)}" is a group; only a person's number can opt out`);
  }
  return { jid, phone: jid.slice(0, jid.indexOf('@')) };
};
