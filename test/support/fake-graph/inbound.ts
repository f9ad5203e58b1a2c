import { storeMedia } from './media-routes.ts';
import { envelope, inboundValue, wamid, type InboundMedia } from './payloads.ts';
import type { FakeNumber, GraphState } from './state.ts';
import type { WebhookSender } from './webhooks.ts';

export interface InboundText {
  from: string;
  text: string;
  /** The customer's WhatsApp profile name. @default 'Customer' */
  name?: string;
}

export interface InboundMediaMessage {
  from: string;
  media: {
    bytes: Buffer;
    mimeType: string;
    type: 'image' | 'video' | 'audio' | 'document' | 'sticker';
    caption?: string;
    filename?: string;
  };
  name?: string;
}

export type Inbound = InboundText | InboundMediaMessage;

/**
 * A customer writes to the number: media is stored (downloadable through GET /{media-id}), the 24-hour service
 * window opens, and a signed `messages` webhook goes out in the number's webhook order.
 */
export const receive = async (
  deps: { state: GraphState; webhooks: WebhookSender; now: () => number },
  n: FakeNumber,
  msg: Inbound,
): Promise<{ id: string; mediaId?: string }> => {
  const from = msg.from.replace(/\D/g, '');
  const id = wamid(from);
  const nowMs = deps.now();
  deps.state.lastInbound.set(deps.state.inboundKey(n.phoneNumberId, from), nowMs);
  let media: InboundMedia | undefined;
  if ('media' in msg) {
    const stored = storeMedia(deps.state, {
      phoneNumberId: n.phoneNumberId,
      bytes: msg.media.bytes,
      mimeType: msg.media.mimeType,
      at: nowMs,
      filename: msg.media.filename,
      inbound: true,
    });
    media = {
      type: msg.media.type,
      id: stored.id,
      mimeType: stored.mimeType,
      sha256Base64: Buffer.from(stored.sha256, 'hex').toString('base64'),
      caption: msg.media.caption,
      filename: msg.media.filename,
    };
  }
  deps.state.changed();
  const payload = envelope(
    n,
    inboundValue({ from, name: msg.name ?? 'Customer', id, nowMs, text: 'text' in msg ? msg.text : undefined, media }),
  );
  await deps.webhooks.enqueue(n.phoneNumberId, async () => {
    await deps.webhooks.post(n, payload, { kind: 'message', messageId: id });
  });
  return { id, ...(media ? { mediaId: media.id } : {}) };
};
