import { isJidGroup, isLidUser, jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from '../../log.js';
import type { DriverBlobs, DriverEvent, InboundDriverMessage } from '../driver.js';
import { readInbound, receiptEventsOf, type InboundPlan } from './inbound.js';
import { downloadHost, fetchInboundMedia, InboundMediaError, type InboundMediaSettings } from './inbound-media.js';

export interface InboundReaderContext {
  blobs: DriverBlobs;
  log: Logger;
  media: InboundMediaSettings;
  emit(event: DriverEvent): void;
}

type MediaPlan = Extract<InboundPlan, { kind: 'media' }>;

/** The media hosts WhatsApp's server named (`media_conn`, cached by Baileys); none if it cannot be asked. */
const mediaHostsOf = async (sock: WASocket) => {
  try {
    return (await sock.refreshMediaConn(false)).hosts.map((h) => h.hostname);
  } catch {
    return [];
  }
};

/**
 * A LID the message or receipt did not pair with a phone number, as its PN when Baileys' own LID mapping
 * (from usync answers and earlier envelopes) knows it; the LID otherwise.
 */
const pnOf = async (sock: WASocket, jid: string) => {
  if (!isLidUser(jid)) return jid;
  const pn = await sock.signalRepository.lidMapping.getPNForLID(jid).catch(() => null);
  return pn ? jidNormalizedUser(pn) : jid;
};

const withPn = async (sock: WASocket, message: InboundDriverMessage): Promise<InboundDriverMessage> => {
  const from = await pnOf(sock, message.from);
  return { ...message, from, chat: isJidGroup(message.chat) ? message.chat : from };
};

const withMedia = async (sock: WASocket, ctx: InboundReaderContext, plan: MediaPlan): Promise<InboundDriverMessage | undefined> => {
  const { header, media, type, as } = plan;
  try {
    const host = downloadHost(media.url, await mediaHostsOf(sock));
    const { bytes, sha256 } = await fetchInboundMedia(media, type, host, ctx.media);
    await ctx.blobs.write(bytes, sha256);
    return {
      ...header,
      content: {
        type: 'media',
        as,
        sha256,
        mimetype: media.mimetype || 'application/octet-stream',
        size: bytes.length,
        ...(media.caption ? { caption: media.caption } : {}),
        ...(media.fileName ? { filename: media.fileName } : {}),
      },
    };
  } catch (error) {
    // Nothing is stored or reported for media that is not what its sender declared, or did not arrive.
    const reason = error instanceof InboundMediaError ? error.reason : 'store_failed';
    ctx.log.warn({ waMessageId: header.waMessageId, from: header.from, reason, err: (error as Error).message }, 'inbound media dropped');
    return undefined;
  }
};

/**
 * Turns what a socket receives into `inbound` and group `receipt` events. Messages are handled one after the
 * other, so a chat's messages are reported in the order they came even while an attachment downloads.
 *
 * `notify` is a message as it arrives; `append` is one WhatsApp held while the session was offline (with
 * history sync off, the only other appends carry no content). Both are messages a customer sent.
 */
export const readInboundFrom = (sock: WASocket, ctx: InboundReaderContext) => {
  let queue = Promise.resolve();
  sock.ev.on('messages.upsert', ({ messages, type }) => {
    if (type !== 'notify' && type !== 'append') return;
    for (const msg of messages) {
      const plan = readInbound(msg);
      if (!plan) continue;
      queue = queue
        .then(async () => {
          const message = plan.kind === 'ready' ? plan.message : await withMedia(sock, ctx, plan);
          if (message) ctx.emit({ type: 'inbound', message: await withPn(sock, message) });
        })
        .catch((error: unknown) => ctx.log.error({ err: error, waMessageId: msg.key.id }, 'reading an inbound message failed'));
    }
  });
  sock.ev.on('message-receipt.update', (updates) => {
    for (const event of receiptEventsOf(updates)) {
      void pnOf(sock, event.participant).then((participant) => ctx.emit({ ...event, participant }));
    }
  });
};
