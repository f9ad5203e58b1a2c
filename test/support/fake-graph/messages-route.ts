import { randomBytes } from 'node:crypto';
import { badValue, GraphFailure, webhookError, type WebhookError } from './errors.ts';
import type { LinkCache } from './link-cache.ts';
import { fitsMessageType, mediaProblem } from './media-rules.ts';
import { validateMessage, type MediaRef } from './message-validation.ts';
import { envelope, statusValue, wamid } from './payloads.ts';
import type { FakeGraphMessage, FakeNumber, GraphState, MessageMedia } from './state.ts';
import type { WebhookSender } from './webhooks.ts';

export interface MessagesContext {
  state: GraphState;
  links: LinkCache;
  webhooks: WebhookSender;
  now: () => number;
  /** How a message naming an unknown or expired media id fails. */
  mediaIdErrors: 'sync' | 'async';
}

const SERVICE_WINDOW_MS = 24 * 3600 * 1000;

/** Takes one planned failure off the number's queue, if any. */
const takeFailure = (n: FakeNumber) => {
  const next = n.failures[0];
  if (!next) return undefined;
  if (--next.left <= 0) n.failures.shift();
  return next;
};

type MediaOutcome = { media?: MessageMedia; error?: WebhookError };

/** What the recipient would get for a media reference: the uploaded bytes, or the bytes Meta's cache holds for a link. */
const resolveMedia = async (ctx: MessagesContext, n: FakeNumber, ref: MediaRef): Promise<MediaOutcome> => {
  if (ref.id !== undefined) {
    const stored = ctx.state.media.get(ref.id);
    const usable = stored && !stored.gone && ctx.state.numbers.get(stored.phoneNumberId)?.wabaId === n.wabaId;
    if (!stored || !usable) {
      const details = `Media id ${ref.id} is not valid or has expired; upload the media again.`;
      if (ctx.mediaIdErrors === 'sync') throw new GraphFailure(131053, { details });
      return { error: webhookError(131053, details) };
    }
    if (!fitsMessageType(ref.kind, stored.mimeType)) {
      throw badValue(`Media id ${ref.id} is ${stored.mimeType}, which a ${ref.kind} cannot carry.`);
    }
    return { media: { sha256: stored.sha256, via: 'id', mediaId: stored.id, mimeType: stored.mimeType } };
  }
  const link = ref.link as string;
  const got = await ctx.links.resolve(link);
  if (!got.ok) return { error: webhookError(131053, got.details) };
  const problem =
    mediaProblem(got.entry.mimeType, got.entry.bytes) ??
    (fitsMessageType(ref.kind, got.entry.mimeType)
      ? undefined
      : `Media at ${link} is ${got.entry.mimeType}, which a ${ref.kind} cannot carry.`);
  if (problem) return { error: webhookError(131053, problem) };
  return { media: { sha256: got.entry.sha256, via: 'link', link, mimeType: got.entry.mimeType } };
};

const postStatuses = async (ctx: MessagesContext, n: FakeNumber, m: FakeGraphMessage, error?: WebhookError) => {
  const conversation = randomBytes(16).toString('hex');
  const post = async (status: FakeGraphMessage['status'], errors?: WebhookError[]) => {
    m.status = status;
    if (errors) m.errors = errors;
    ctx.state.changed();
    await ctx.webhooks.post(n, envelope(n, statusValue(m, status, ctx.now(), conversation, errors)), {
      kind: 'status',
      messageId: m.id,
      status,
    });
  };
  if (error) return post('failed', [error]);
  for (const status of n.statuses) await post(status);
};

/**
 * POST /{phone-number-id}/messages. Synchronous refusals throw a GraphFailure; an accepted message is recorded
 * and its status webhooks are queued to go out once `responded` settles (never before the answer).
 */
export const postMessage = async (ctx: MessagesContext, n: FakeNumber, body: unknown, responded: Promise<void>) => {
  const json = body as Record<string, unknown>;
  // Marking an inbound message read shares the endpoint: { messaging_product, status: 'read', message_id }.
  if (json && json.status === 'read' && typeof json.message_id === 'string' && json.messaging_product === 'whatsapp') {
    return { success: true };
  }
  const planned = takeFailure(n);
  if (planned && !planned.async)
    throw new GraphFailure(planned.code, { details: planned.details ?? `Failure planned by the test (${planned.code}).` });
  const valid = validateMessage(body);
  if (n.allowed && !n.allowed.has(valid.to)) {
    throw new GraphFailure(131030, { details: `Recipient phone number ${valid.to} is not in the allowed list of this test number.` });
  }
  const outcome: MediaOutcome = valid.media ? await resolveMedia(ctx, n, valid.media) : {};
  let error = outcome.error;
  if (!error && planned?.async) error = webhookError(planned.code, planned.details);
  if (!error && n.serviceWindow && valid.type !== 'template') {
    const last = ctx.state.lastInbound.get(ctx.state.inboundKey(n.phoneNumberId, valid.to));
    if (last === undefined || ctx.now() - last > SERVICE_WINDOW_MS) {
      error = webhookError(
        131047,
        'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
      );
    }
  }
  const message: FakeGraphMessage = {
    id: wamid(valid.to),
    phoneNumberId: n.phoneNumberId,
    to: valid.to,
    type: valid.type,
    body: json,
    ...(outcome.media ? { media: outcome.media } : {}),
    status: 'accepted',
    at: ctx.now(),
  };
  ctx.state.messages.push(message);
  ctx.state.changed();
  void ctx.webhooks
    .enqueue(n.phoneNumberId, async () => {
      await responded;
      await postStatuses(ctx, n, message, error);
    })
    .catch(() => undefined);
  return {
    messaging_product: 'whatsapp',
    contacts: [{ input: json.to, wa_id: valid.to }],
    messages: [{ id: message.id, ...(valid.type === 'template' ? { message_status: 'accepted' } : {}) }],
  };
};
