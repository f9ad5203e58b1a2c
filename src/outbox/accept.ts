import type { EventBus } from '../events/bus.js';
import type { MessageEvent } from '../events/types.js';
import type { Store } from '../store/index.js';
import type { IdempotencyKeys, IdempotencyRef } from './idempotency-keys.js';
import { createMessageStore, type MessageChange, type MessageStore, type MessageStoreOptions } from './message-store.js';
import type { EnqueueRequest } from './index.js';
import type { MessageRecord } from './types.js';

/** The record a new message is stored as, before its place in the queue is known. */
export const newRecord = (
  id: string,
  { sessionId, to, content, media, broadcast, replyTo, quoted }: EnqueueRequest,
): Omit<MessageRecord, 'position'> => {
  const now = new Date().toISOString();
  return {
    id,
    sessionId,
    to,
    type: content.type,
    content,
    status: 'queued',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    ...(media ? { media } : {}),
    ...(broadcast ? { broadcast } : {}),
    ...(replyTo ? { replyTo } : {}),
    ...(quoted ? { quoted } : {}),
  };
};

/** The message store of an outbox: every new message and status move is published as a `message` event. */
export const publishingMessageStore = (
  store: Store,
  events: Pick<EventBus<MessageEvent>, 'publish'> | undefined,
  options: MessageStoreOptions & { onChange?: MessageChange } = {},
) =>
  createMessageStore(
    store,
    (message, previous) => {
      if (events && message.status !== previous?.status) {
        events.publish({ type: 'message', message, ...(previous ? { previousStatus: previous.status } : {}) });
      }
      options.onChange?.(message, previous);
    },
    options,
  );

/** The message queued for this key, if there is one (reserved is not enough: its request may have died first). */
export const queuedFor = async (keys: IdempotencyKeys, messages: MessageStore, ref: IdempotencyRef) => {
  const id = await keys.find(ref);
  const record = id === undefined ? undefined : await messages.get(id);
  return { id, record: record && (await messages.isQueued(record)) ? record : undefined };
};
