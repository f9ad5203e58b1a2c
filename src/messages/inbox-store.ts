import { createHash, randomBytes } from 'node:crypto';
import type { InboundMessage } from '../events/types.js';
import type { Store } from '../store/index.js';
import { createChunkedList } from '../store/chunked-list.js';
import type { InboundDriverMessage } from '../whatsapp/driver.js';

/** A stored inbound message and its place in its session's inbox. */
interface StoredInbound extends InboundMessage {
  position: number;
}

export interface InboxPage {
  /** Newest first. */
  items: InboundMessage[];
  /** The `before` of the next (older) page; null on the last one. */
  nextCursor: number | null;
}

export interface InboxStore {
  /**
   * Stores the message unless the session holds it already (same chat, sender and WhatsApp id: a driver may
   * deliver one message twice, e.g. after a reconnect). `created` is false for such a repeat, which is returned
   * as first stored. One add at a time per session: two at once could both find a message new.
   */
  add(sessionId: string, message: InboundDriverMessage): Promise<{ message: InboundMessage; created: boolean }>;
  get(sessionId: string, id: string): Promise<InboundMessage | undefined>;
  list(sessionId: string, page: { limit: number; before?: number }): Promise<InboxPage>;
}

const msgKey = (id: string) => `msg:${id}`;
/** Hashed: JIDs and WhatsApp ids are the sender's text, and a separator could appear in any of them. */
const seenKey = (sessionId: string, { chat, from, waMessageId }: InboundDriverMessage) =>
  `seen:${sessionId}:${createHash('sha256')
    .update(JSON.stringify([chat, from, waMessageId]))
    .digest('base64url')}`;
const newId = () => `in_${randomBytes(10).toString('hex')}`;

const view = ({ position: _position, ...message }: StoredInbound): InboundMessage => message;

/**
 * Inbound messages on a Keyv namespace (SQLite or Redis): the record by our id (`msg:<id>`), each session's order
 * (src/store/chunked-list.ts), and which WhatsApp messages a session holds (`seen:<session>:<hash>`).
 */
export const createInboxStore = (store: Store): InboxStore => {
  const order = createChunkedList(store);

  const stored = async (id: string) => (await store.get(msgKey(id))) as StoredInbound | undefined;

  return {
    async add(sessionId, message) {
      const seen = seenKey(sessionId, message);
      const before = (await store.get(seen)) as string | undefined;
      const held = before === undefined ? undefined : await stored(before);
      if (held) return { message: view(held), created: false };
      const id = newId();
      const record = await order.append(sessionId, id, async (position) => {
        const full: StoredInbound = { ...message, id, sessionId, receivedAt: new Date().toISOString(), position };
        await store.set(msgKey(id), full);
        return full;
      });
      // Marked seen last: a crash before this stores a redelivery twice rather than losing the message.
      await store.set(seen, id);
      return { message: view(record), created: true };
    },

    async get(sessionId, id) {
      const record = await stored(id);
      // Ids are unique across sessions: one asked for under another session is not there.
      return record?.sessionId === sessionId ? view(record) : undefined;
    },

    async list(sessionId, page) {
      const { ids, nextCursor } = await order.newest(sessionId, page);
      const records = await Promise.all(ids.map(stored));
      return { items: records.filter((r): r is StoredInbound => !!r).map(view), nextCursor };
    },
  };
};
