import { generateWAMessageFromContent, prepareWAMessageMedia, type proto, type WASocket } from '@whiskeysockets/baileys';
import { HashsendError, isHashsendError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BlobReader, OutboundContent, OutboundMedia, OutboundTemplate, SendRequest, SentRef } from '../driver.js';
import { unsupportedByDriver } from '../capabilities.js';
import { cardMessage } from '../card-message.js';
import { AckTimeoutError, type AckTracker } from './ack-tracker.js';
import { assertPreparedHash } from './hash-guard.js';
import { messageKeyOf, personalise, uploadContent } from './media-content.js';
import { asReply } from './quote.js';
import type { UploadCache } from './upload-cache.js';

/** The connection stopped answering or closed under a send: the session must reconnect, the send wait. */
export class ConnectionDeadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionDeadError';
  }
}

export interface SendContext {
  sock: WASocket;
  acks: AckTracker;
  uploads: UploadCache;
  blobs: BlobReader;
  /** Baileys' own child logger, handed to the media preparation. */
  baileysLog: Logger;
  mediaUploadTimeoutMs: number;
  /** How long a relay and WhatsApp's ack of it may take before the connection counts as dead. */
  ackTimeoutMs: number;
}

// Baileys' Boom errors carry the code here; 408 and 428 mean the socket timed out or closed under us.
const statusOf = (error: unknown) => (error as { output?: { statusCode?: unknown } }).output?.statusCode;
const CONNECTION_GONE = new Set([408, 428]);
const UPLOAD_FAILED = /media upload failed/i;

const withTimeout = <T>(work: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionDeadError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
};

/**
 * Relays one message under our id and waits for WhatsApp to take it; returns the ack's error, if any.
 *
 * `messageId` is the outbox's id of the message, the same on every attempt. When the ack does not come (a
 * timeout, the socket gone) the relay may or may not have reached WhatsApp, and the message is tried again
 * later under that same id. WhatsApp's server does not deduplicate relays, so a recipient may then get two
 * copies; WhatsApp's apps keep messages by (chat, sender, id) and show one. So what we promise is one
 * *visible* message per send, not one relay; a fresh id per attempt would break it (two messages on the
 * phone). The protocol simulator's phones dedupe the same way and count relays per id, which is how the
 * e2e tests prove it (test/whatsapp/e2e/faults.test.ts, "an ack lost after the relay").
 */
const relay = async (ctx: SendContext, to: string, content: proto.IMessage, messageId: string) => {
  const userJid = ctx.sock.user?.id;
  if (!userJid) throw new ConnectionDeadError('the socket has no logged-in user');
  const acked = ctx.acks.expect(messageId, ctx.ackTimeoutMs);
  // The ack wait must not reject unobserved if the relay fails first.
  acked.catch(() => undefined);
  const message = generateWAMessageFromContent(to, content, { userJid, messageId });
  try {
    await withTimeout(ctx.sock.relayMessage(to, message.message ?? content, { messageId }), ctx.ackTimeoutMs, 'relaying the message');
  } catch (error) {
    ctx.acks.forget(messageId);
    throw error;
  }
  try {
    return (await acked).error;
  } catch (error) {
    if (error instanceof AckTimeoutError) throw new ConnectionDeadError(error.message, { cause: error });
    throw error;
  }
};

const prepareMedia = async (ctx: SendContext, media: OutboundMedia) => {
  const key = messageKeyOf(media.as);
  const { prepared, reused } = await ctx.uploads.get(media.sha256, media.as, async () => {
    const bytes = await ctx.blobs.read(media.sha256);
    const upload = () =>
      prepareWAMessageMedia(uploadContent(media, bytes), {
        upload: ctx.sock.waUploadToServer,
        mediaUploadTimeoutMs: ctx.mediaUploadTimeoutMs,
        logger: ctx.baileysLog,
      });
    try {
      return await upload();
    } catch (error) {
      // A media host that refused an expired auth token has already made Baileys fetch a fresh one
      // (`refreshMediaConn(true)`), so a second try at once usually passes; a second failure is the caller's.
      if (!UPLOAD_FAILED.test((error as Error).message)) throw error;
      ctx.baileysLog.warn({ sha256: media.sha256, err: (error as Error).message }, 'media upload failed; trying once more');
      return upload();
    }
  });
  try {
    return { prepared, reused, sentSha256: assertPreparedHash(prepared, key, media.sha256) };
  } catch (error) {
    ctx.uploads.invalidate(media.sha256, media.as);
    throw error;
  }
};

/** View-once media is the same message inside WhatsApp's `viewOnceMessage`, as Baileys wraps it itself. */
export const viewOnce = (message: proto.IMessage, media: OutboundMedia): proto.IMessage =>
  media.viewOnce ? { viewOnceMessage: { message } } : message;

const sendMedia = async (ctx: SendContext, request: SendRequest, media: OutboundMedia): Promise<SentRef> => {
  const relayPrepared = (prepared: proto.IMessage) =>
    relay(ctx, request.to, viewOnce(asReply(personalise(prepared, media), request.quoted), media), request.messageId);
  let { prepared, reused, sentSha256 } = await prepareMedia(ctx, media);
  let ackError = await relayPrepared(prepared);
  if (ackError && reused) {
    // WhatsApp refused a message that points at an earlier upload, which may have expired: upload anew, once.
    ctx.uploads.invalidate(media.sha256, media.as);
    ({ prepared, sentSha256 } = await prepareMedia(ctx, media));
    ackError = await relayPrepared(prepared);
  }
  if (ackError) throw rejected(ackError);
  return { waMessageId: request.messageId, sentSha256 };
};

const rejected = (ackError: string) =>
  new HashsendError('send_rejected', 502, `WhatsApp refused the message (error ${ackError})`, { ackError });

/** A message with no media to upload, as WhatsApp's message fields. */
export const plainContent = (content: Exclude<OutboundContent, OutboundMedia | OutboundTemplate>): proto.IMessage =>
  content.type === 'text'
    ? {
        extendedTextMessage: {
          text: content.text,
          ...(content.mentions?.length ? { contextInfo: { mentionedJid: content.mentions } } : {}),
        },
      }
    : cardMessage(content);

/**
 * Sends one message on a connected socket: text as is, media through the upload cache and the hash guard.
 * Throws ConnectionDeadError when the connection is the problem, HashsendError for everything a caller sees.
 */
export const sendOnSocket = async (ctx: SendContext, request: SendRequest): Promise<SentRef> => {
  try {
    const { content } = request;
    if (content.type === 'media') return await sendMedia(ctx, request, content);
    if (content.type === 'template') throw unsupportedByDriver('baileys', 'send template messages');
    const message = asReply(plainContent(content), request.quoted);
    const ackError = await relay(ctx, request.to, message, request.messageId);
    if (ackError) throw rejected(ackError);
    return { waMessageId: request.messageId };
  } catch (error) {
    if (isHashsendError(error) || error instanceof ConnectionDeadError) throw error;
    const status = statusOf(error);
    if (typeof status === 'number' && CONNECTION_GONE.has(status)) {
      throw new ConnectionDeadError((error as Error).message, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    if (/upload/i.test(message)) {
      throw new HashsendError('upload_failed', 502, `the media upload to WhatsApp failed: ${message}`, undefined, { cause: error });
    }
    throw new HashsendError('send_failed', 502, `the send failed: ${message}`, undefined, { cause: error });
  }
};
