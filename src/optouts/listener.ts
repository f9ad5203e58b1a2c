import type { EventBus } from '../events/bus.js';
import type { HashsendEvent, InboundMessage } from '../events/types.js';
import type { Logger } from '../log.js';
import type { MessageService } from '../messages/service.js';
import { createKeywordMatcher } from './keywords.js';
import type { OptOutService } from './service.js';

export interface KeywordListenerOptions {
  events: Pick<EventBus<HashsendEvent>, 'subscribe'>;
  optOuts: Pick<OptOutService, 'add'>;
  messages: Pick<MessageService, 'send'>;
  /** OPTOUT_KEYWORDS; none: no message opts out by itself. */
  keywords: readonly string[];
  /** OPTOUT_CONFIRMATION: the answer to a customer just added; absent, no answer. */
  confirmation?: string;
  log: Logger;
}

/** A chat with one person: a user JID (or its LID), never a group, a status broadcast or a channel. */
const isDirect = (m: InboundMessage) => /@(s\.whatsapp\.net|c\.us|lid)$/.test(m.chat);

/**
 * Takes a customer who writes an opt-out keyword (the whole message) in a direct chat off the session's lists, and
 * answers once with the confirmation, as a reply to their message so the opt-out check lets it through. A keyword
 * from a number already on the list changes nothing and is not answered again.
 */
export const listenForOptOutKeywords = ({ events, optOuts, messages, keywords, confirmation, log: parent }: KeywordListenerOptions) => {
  const log = parent.child({ component: 'optouts' });
  const isKeyword = createKeywordMatcher(keywords);
  const onReceived = async (message: InboundMessage) => {
    if (message.content.type !== 'text' || !isDirect(message) || !isKeyword(message.content.text)) return;
    const { optOut, added } = await optOuts.add(message.sessionId, message.from, { source: 'keyword', messageId: message.id });
    log.info({ sessionId: optOut.sessionId, phone: optOut.phone, added }, 'opt-out keyword received');
    if (!added || !confirmation) return;
    await messages.send(message.sessionId, optOut.jid, { text: confirmation }, { replyTo: message.id });
  };
  return events.subscribe((event) => {
    if (event.type !== 'received') return;
    return onReceived(event.message).catch((err: unknown) =>
      log.error({ err, sessionId: event.message.sessionId, messageId: event.message.id }, 'opt-out keyword not handled'),
    );
  });
};
