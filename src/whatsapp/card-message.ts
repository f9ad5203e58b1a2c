import type { OutboundContact, OutboundLocation } from './driver.js';

/** A vCard text value: backslashes, commas, semicolons and line breaks escaped (RFC 6350 3.4). */
const escapeText = (value: string) => value.replace(/[\\,;]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');

/**
 * The vCard WhatsApp's apps show as a contact card: a name and one mobile number, with `waid` so the card offers
 * to message that number on WhatsApp.
 */
export const contactVcard = ({ name, phone }: { name: string; phone: string }) => {
  const digits = phone.replace(/\D/g, '');
  return ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escapeText(name)}`, `TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`, 'END:VCARD'].join(
    '\n',
  );
};

/** A contact card or a location as WhatsApp's message fields (`proto.Message` in its JSON form). */
export const cardMessage = (content: OutboundContact | OutboundLocation) => {
  if (content.type === 'contact') return { contactMessage: { displayName: content.name, vcard: contactVcard(content) } };
  const { latitude, longitude, name, address } = content;
  return {
    locationMessage: { degreesLatitude: latitude, degreesLongitude: longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) },
  };
};
