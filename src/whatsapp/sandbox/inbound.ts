import { createHash, randomBytes } from 'node:crypto';
import type { DriverBlobs, InboundContent, InboundDriverMessage, SendAs } from '../driver.js';

interface SandboxMediaBase {
  type: 'media';
  as: SendAs;
  mimetype: string;
  caption?: string;
  filename?: string;
}

/** What a simulated customer sends: media as a blob held already, or as bytes that arrive with the message. */
export type SandboxInboundContent =
  Exclude<InboundContent, { type: 'media' }> | (SandboxMediaBase & { sha256: string }) | (SandboxMediaBase & { bytes: Buffer });

export interface SandboxInbound {
  /** The sender's user JID; the chat is theirs (a direct message). */
  from: string;
  pushName?: string;
  /** The WhatsApp id of the message this one quotes. */
  replyTo?: string;
  content: SandboxInboundContent;
}

/** In the form WhatsApp clients give their messages' ids. */
const waMessageId = () => `3A${randomBytes(9).toString('hex').toUpperCase()}`;

/** Media bytes that arrive are stored through `blobs.write` under their hash; media named by hash is read back. */
const readMedia = async (media: Extract<SandboxInboundContent, { type: 'media' }>, blobs: DriverBlobs): Promise<InboundContent> => {
  const bytes = 'bytes' in media ? media.bytes : await blobs.read(media.sha256);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if ('bytes' in media) await blobs.write(bytes, sha256);
  const { as, mimetype, caption, filename } = media;
  return {
    type: 'media',
    as,
    sha256,
    mimetype,
    size: bytes.length,
    ...(caption !== undefined ? { caption } : {}),
    ...(filename !== undefined ? { filename } : {}),
  };
};

/** The message a phone would deliver, as a real driver reads it (its media verified and stored). */
export const inboundMessage = async (
  { from, pushName, replyTo, content }: SandboxInbound,
  blobs: DriverBlobs,
): Promise<InboundDriverMessage> => ({
  waMessageId: waMessageId(),
  chat: from,
  from,
  ...(pushName ? { pushName } : {}),
  timestamp: new Date().toISOString(),
  content: content.type === 'media' ? await readMedia(content, blobs) : content,
  ...(replyTo ? { replyTo } : {}),
});
