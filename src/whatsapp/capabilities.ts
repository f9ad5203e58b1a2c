import { HashsendError } from '../errors.js';
import type { DriverCapabilities, OutboundContent } from './driver.js';

/** `422 unsupported_by_driver`: the session's driver cannot do what was asked. */
export const unsupportedByDriver = (driver: string, what: string) =>
  new HashsendError('unsupported_by_driver', 422, `the ${driver} driver cannot ${what}`, { driver });

/** A session whose driver is not in this build can do nothing. */
export const NO_CAPABILITIES: DriverCapabilities = {
  linking: [],
  content: [],
  mediaAs: [],
  mentions: false,
  viewOnce: false,
  quoting: false,
  ownMessageIds: false,
  inboundHttp: false,
  onWhatsApp: false,
  presence: false,
};

/** What WhatsApp Web offers, through Baileys or the sandbox that stands in for it. */
export const WHATSAPP_WEB_CAPABILITIES: DriverCapabilities = {
  linking: ['qr', 'code'],
  content: ['text', 'media', 'contact', 'location'],
  mediaAs: ['image', 'video', 'audio', 'voice', 'document', 'sticker'],
  mentions: true,
  viewOnce: true,
  quoting: true,
  ownMessageIds: false,
  inboundHttp: false,
  onWhatsApp: true,
  presence: true,
};

type DriverLike = { name: string; capabilities: DriverCapabilities };

export const checkContentType = ({ name, capabilities }: DriverLike, type: OutboundContent['type']) => {
  if (!capabilities.content.includes(type)) throw unsupportedByDriver(name, `send ${type} messages`);
};

export const checkQuoting = ({ name, capabilities }: DriverLike) => {
  if (!capabilities.quoting) throw unsupportedByDriver(name, 'quote the message a reply answers');
};

/**
 * Refuses content the driver cannot send, before it is queued: a caller learns it from the request, not from a
 * message that fails later.
 */
export const checkSendable = (driver: DriverLike, content: OutboundContent) => {
  const { name, capabilities: can } = driver;
  checkContentType(driver, content.type);
  if (content.type === 'media') {
    if (!can.mediaAs.includes(content.as)) throw unsupportedByDriver(name, `send media as ${content.as}`);
    if (content.viewOnce && !can.viewOnce) throw unsupportedByDriver(name, 'send view-once media');
  }
  if (content.type === 'text' && content.mentions?.length && !can.mentions) throw unsupportedByDriver(name, 'mention contacts');
};
