import { HashsendError } from '../errors.js';

const USER_SERVER = 's.whatsapp.net';
const invalid = (to: string) =>
  new HashsendError(
    'invalid_recipient',
    400,
    `"${to.slice(0, 64)}" is not a recipient: give a phone number in international form (+4915123456789), a user JID (4915123456789@s.whatsapp.net) or a group JID (120363…@g.us)`,
  );

/**
 * A caller's `to` as the JID WhatsApp addresses: an international phone number (`+49 151 2345 6789`,
 * `4915123456789`), a user JID, a LID or a group JID. Anything else is `invalid_recipient`, refused before queueing.
 */
export const toJid = (to: string): string => {
  const value = to.trim();
  const jid = value.match(/^(\d{6,15})(?::\d+)?@(s\.whatsapp\.net|c\.us)$/);
  // Device suffixes and the legacy `c.us` server name address the same user.
  if (jid) return `${jid[1]}@${USER_SERVER}`;
  if (/^\d{5,20}(-\d{9,12})?@g\.us$/.test(value)) return value;
  if (/^\d{6,20}@lid$/.test(value)) return value;
  // Spaces, dashes, dots and brackets are how people write numbers; anything else is not a number.
  if (!/^\+?[\d\s().-]+$/.test(value)) throw invalid(to);
  const digits = value.replace(/\D/g, '');
  // E.164 allows at most 15 digits; a leading 0 is a national trunk prefix, not a country code.
  if (digits.length < 7 || digits.length > 15 || digits.startsWith('0')) throw invalid(to);
  return `${digits}@${USER_SERVER}`;
};
