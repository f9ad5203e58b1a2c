import type { EventBus } from '../events/bus.js';
import type { HashsendEvent, InboundMessage } from '../events/types.js';
import type { Logger } from '../log.js';
import type { MediaResolver } from '../media/resolver.js';
import type { Store } from '../store/index.js';
import { KeyedQueue } from '../lib/keyed-queue.js';
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

  // One message at a time per session, in the order its driver read them: media is recorded before its message
  // is stored (a listed message's content is there), and two deliveries of one message never both find it new.
  const queue = new KeyedQueue();

  const receive = async (sessionId: string, message: InboundDriverMessage) => {
    const context = { sessionId, waMessageId: message.waMessageId };
    try {
      const { content } = message;
      if (content.type === 'media') {
        // The message is worth keeping without its media: that failure is the log's to tell.
        await media.adopt(content.sha256, content.mimetype).catch((err: unknown) => {
          log.error({ err, ...context, sha256: content.sha256 }, 'inbound media could not be recorded');
        });
      }
      const { message: stored, created } = await inbox.add(sessionId, message);
      if (created) events.publish({ type: 'received', message: stored });
    } catch (err) {
      log.error({ err, ...context }, 'an inbound message could not be stored');
    }
  };

  const unsubscribe = events.subscribe((event) => {
    if (event.type === 'inbound') return queue.run(event.sessionId, () => receive(event.sessionId, event.message));
  });

  return {
    list: (sessionId, page) => inbox.list(sessionId, page),
    get: (sessionId, id) => inbox.get(sessionId, id),
    async stop() {
      unsubscribe();
      await queue.drain();
    },
  };
};
