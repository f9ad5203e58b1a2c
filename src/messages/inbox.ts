import type { EventBus } from '../events/bus.js';
import type { HashsendEvent, InboundMessage } from '../events/types.js';
import type { Logger } from '../log.js';
import type { MediaResolver } from '../media/resolver.js';
import type { Store } from '../store/index.js';
import type { InboundDriverMessage } from '../whatsapp/driver.js';
import { createInboxStore, type InboxPage } from './inbox-store.js';

export interface Inbox {
  /** A session's inbound messages, newest first; `before` is a `nextCursor` of an earlier page. */
  list(sessionId: string, page: { limit: number; before?: number }): Promise<InboxPage>;
  get(sessionId: string, id: string): Promise<InboundMessage | undefined>;
  /** Stops listening and waits for what arrived to be stored: call before the store closes. */
  stop(): Promise<void>;
}

export interface InboxDeps {
  store: Store;
  events: EventBus<HashsendEvent>;
  /** Inbound media is a blob the driver stored: recorded, so its content is served by hash like any media. */
  media: Pick<MediaResolver, 'adopt'>;
  log: Logger;
}

/**
 * Stores what the sessions' drivers read arriving (`inbound` on the bus), each message once however often a driver
 * delivers it, then publishes `received`: a listener of `received` can read the message back.
 */
export const createInbox = ({ store, events, media, log }: InboxDeps): Inbox => {
  const inbox = createInboxStore(store);

  const pending = new Set<Promise<void>>();

  const receive = async (sessionId: string, message: InboundDriverMessage) => {
    const context = { sessionId, waMessageId: message.waMessageId };
    try {
      // Asked for before anything is awaited: a session's inbox keeps the order its driver read messages in.
      const { message: stored, created } = await inbox.add(sessionId, message);
      if (!created) return;
      const { content } = stored;
      if (content.type === 'media') {
        // Before `received`, so its listeners find the content at its URL; the message is worth keeping without.
        await media.adopt(content.sha256, content.mimetype).catch((err: unknown) => {
          log.error({ err, ...context, sha256: content.sha256 }, 'inbound media could not be recorded');
        });
      }
      events.publish({ type: 'received', message: stored });
    } catch (err) {
      log.error({ err, ...context }, 'an inbound message could not be stored');
    }
  };

  const unsubscribe = events.subscribe((event) => {
    if (event.type !== 'inbound') return;
    const done = receive(event.sessionId, event.message);
    pending.add(done);
    void done.finally(() => pending.delete(done));
  });

  return {
    list: (sessionId, page) => inbox.list(sessionId, page),
    get: (sessionId, id) => inbox.get(sessionId, id),
    async stop() {
      unsubscribe();
      await Promise.all(pending);
    },
  };
};
