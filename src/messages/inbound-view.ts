import type { InboundMessage } from '../events/types.js';

/**
 * An inbound message as the API shows it (`GET /api/sessions/:id/inbox`) and as `message.received` carries it: a
 * media message links to its content by hash.
 */
export const inboundView = (message: InboundMessage) => {
  const { content } = message;
  if (content.type !== 'media') return message;
  return { ...message, media: { sha256: content.sha256, url: `/api/media/${content.sha256}/content` } };
};
