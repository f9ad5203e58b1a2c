import { HashsendError } from '../errors.js';
import type { InboundMessage } from '../events/types.js';
import type { MediaResolver } from '../media/resolver.js';
import type { MediaKind, MediaRecord, MediaRef } from '../media/types.js';
import type { IdempotencyRef, MessageRecord, Outbox } from '../outbox/index.js';
import type {
  DriverCapabilities,
  OutboundContact,
  OutboundContent,
  OutboundLocation,
  OutboundMedia,
  OutboundTemplate,
  OutboundText,
  SendAs,
} from '../whatsapp/driver.js';
import { checkContentType, checkQuoting, checkSendable } from '../whatsapp/capabilities.js';
import { composeTemplate, type TemplateInput } from './template.js';
import type { OptOutLookup } from '../optouts/store.js';
import { toJid } from '../whatsapp/recipient.js';
import { optedOut, replyTarget } from './reply.js';

/** A media message as a caller asks for it; the media reference is resolved through the freshness pipeline. */
export interface MediaMessageInput {
  media: { sha256: string; url?: undefined } | { url: string; sha256?: string };
  caption?: string;
  filename?: string;
  as?: SendAs;
  /** Shown once (images, videos and audio): `422 invalid_request` for another kind. */
  viewOnce?: boolean;
}

/** What any surface (our REST API, a broadcast, a later compatible API) asks to send. */
export type MessageInput = { text: string; mentions?: string[] } | MediaMessageInput | { template: TemplateInput };

/** Messages with nothing to fetch or share among recipients: a contact card, a location. */
export type CardInput = { contact: Omit<OutboundContact, 'type'> } | { location: Omit<OutboundLocation, 'type'> };
export interface CardContent {
  content: Exclude<OutboundContent, OutboundText | OutboundMedia>;
  media?: undefined;
}

const cardOf = (input: CardInput): CardContent =>
  'contact' in input ? { content: { type: 'contact', ...input.contact } } : { content: { type: 'location', ...input.location } };

/** The content of a message, resolved once: what every recipient of it gets, media pinned to one sha256. */
export interface ComposedContent {
  content: OutboundText | OutboundMedia | OutboundTemplate;
  media?: MessageRecord['media'];
}

export interface SendOptions {
  idempotency?: IdempotencyRef;
  /** Marks the message as this broadcast recipient's (its events carry it). */
  broadcast?: MessageRecord['broadcast'];
  /**
   * Our id of an inbound message (as the inbox lists it) from this recipient on this session: the message quotes
   * it, and goes out even to a number that opted out. One that names no such message: `404 reply_target_not_found`.
   */
  replyTo?: string;
}

/** Where inbound messages are looked up by our id (the inbox). */
export interface InboundLookup {
  get(sessionId: string, id: string): Promise<InboundMessage | undefined>;
}

/** The one way to send, below http: recipient → JID, media reference → stored record, content → outbox. */
export interface MessageService {
  /**
   * Resolves the media (fetched fresh, verified, stored) and shapes the outbound content; nothing is queued. With
   * `sessionId`, content that session's driver cannot send is `422 unsupported_by_driver` (checked before any fetch).
   */
  compose(input: MessageInput, sessionId?: string): Promise<ComposedContent>;
  /** Queues composed content for one recipient, `to` a JID as `toJid` gives it (a broadcast stores them so). */
  enqueue(sessionId: string, jid: string, composed: ComposedContent | CardContent, opts?: SendOptions): Promise<MessageRecord>;
  /** compose + enqueue; an idempotent repeat answers with the first message, its media not fetched again. */
  send(
    sessionId: string,
    to: string,
    input: MessageInput | CardInput,
    opts?: SendOptions,
  ): Promise<{ record: MessageRecord; replayed: boolean }>;
}

export interface MessageServiceOptions {
  outbox: Pick<Outbox, 'enqueue' | 'replay'>;
  media: Pick<MediaResolver, 'resolve'>;
  /** Throws `session_not_found` for an unknown session, before any media is fetched. */
  requireSession(id: string): void;
  /** The session's driver and what it can send. */
  capabilities(sessionId: string): { name: string; capabilities: DriverCapabilities };
  /** The session's suppression list: a send to a number on it is `409 opted_out` unless it is a reply. */
  optOuts: OptOutLookup;
  inbox: InboundLookup;
}

const DEFAULT_AS: Record<MediaKind, SendAs> = { image: 'image', video: 'video', audio: 'audio', sticker: 'sticker', document: 'document' };

/** The outbound form of a stored media record, sent as `as` (by default the kind its bytes were sniffed as). */
const VIEW_ONCE_KINDS: ReadonlySet<SendAs> = new Set(['image', 'video', 'audio', 'voice']);

export const outboundMedia = (
  record: MediaRecord,
  { as, caption, filename, viewOnce }: Omit<MediaMessageInput, 'media'>,
): OutboundMedia => {
  const shownAs = as ?? DEFAULT_AS[record.kind];
  if (viewOnce && !VIEW_ONCE_KINDS.has(shownAs)) {
    throw new HashsendError('invalid_request', 422, `a ${shownAs} cannot be sent view-once; only images, videos and audio can`, {
      issues: [{ path: 'viewOnce', message: `A ${shownAs} cannot be sent view-once.` }],
    });
  }
  return {
    type: 'media',
    as: shownAs,
    sha256: record.sha256,
    mimetype: record.mimetype,
    size: record.size,
    ...(caption ? { caption } : {}),
    ...(filename ? { filename } : {}),
    ...(record.thumbnail ? { thumbnail: record.thumbnail } : {}),
    ...(viewOnce ? { viewOnce } : {}),
  };
};

/** The content type an input asks for, known before anything is fetched. */
const typeOf = (input: MessageInput | CardInput): OutboundContent['type'] =>
  'text' in input ? 'text' : 'media' in input ? 'media' : 'template' in input ? 'template' : 'contact' in input ? 'contact' : 'location';

export const createMessageService = ({
  outbox,
  media,
  requireSession,
  capabilities,
  optOuts,
  inbox,
}: MessageServiceOptions): MessageService => {
  /** The cheap part of `checkSendable`, from the input alone: nothing is fetched for a send that would be refused. */
  const precheck = (sessionId: string, input: MessageInput | CardInput, quoted: boolean) => {
    const driver = capabilities(sessionId);
    checkContentType(driver, typeOf(input));
    if (quoted) checkQuoting(driver);
    return driver;
  };

  const compose = async (input: MessageInput, sessionId?: string): Promise<ComposedContent> => {
    const driver = sessionId === undefined ? undefined : precheck(sessionId, input, false);
    const composed = await composeContent(input);
    if (driver) checkSendable(driver, composed.content);
    return composed;
  };

  const composeContent = async (input: MessageInput): Promise<ComposedContent> => {
    if ('template' in input) return composeTemplate(input.template, media);
    if ('text' in input) {
      const mentions = input.mentions?.map(toJid);
      return { content: { type: 'text', text: input.text, ...(mentions?.length ? { mentions } : {}) } };
    }
    const ref: MediaRef =
      input.media.url !== undefined
        ? { url: input.media.url, sha256: input.media.sha256?.toLowerCase() }
        : { sha256: input.media.sha256.toLowerCase() };
    const { record } = await media.resolve(ref, input.as ? { as: input.as } : undefined);
    const sourceSha256 = record.converted?.fromSha256;
    return {
      content: outboundMedia(record, input),
      media: { sha256: record.sha256, ...(sourceSha256 ? { sourceSha256 } : {}) },
    };
  };

  const enqueue = (
    sessionId: string,
    jid: string,
    { content, media: sent }: ComposedContent | CardContent,
    opts: SendOptions = {},
    reply?: Pick<MessageRecord, 'replyTo' | 'quoted'>,
  ) =>
    outbox.enqueue({
      sessionId,
      to: jid,
      content,
      ...(sent ? { media: sent } : {}),
      idempotency: opts.idempotency,
      ...(opts.broadcast ? { broadcast: opts.broadcast } : {}),
      ...reply,
    });

  /** A reply goes to whoever wrote; anything else not to a number that opted out. */
  const permit = async (sessionId: string, jid: string, replyTo?: string) => {
    if (replyTo !== undefined) return replyTarget(await inbox.get(sessionId, replyTo), { sessionId, jid, replyTo });
    const optOut = await optOuts.get(sessionId, jid);
    if (optOut) throw optedOut(optOut);
    return undefined;
  };

  return {
    compose,
    enqueue,
    async send(sessionId, to, input, opts = {}) {
      requireSession(sessionId);
      const earlier = opts.idempotency && (await outbox.replay(opts.idempotency));
      if (earlier) return { record: earlier, replayed: true };
      // The recipient is checked before media is fetched: a typo or an opted-out number costs no download.
      const jid = toJid(to);
      const driver = precheck(sessionId, input, opts.replyTo !== undefined);
      const reply = await permit(sessionId, jid, opts.replyTo);
      const composed = 'contact' in input || 'location' in input ? cardOf(input) : await composeContent(input);
      checkSendable(driver, composed.content);
      return { record: await enqueue(sessionId, jid, composed, opts, reply), replayed: false };
    },
  };
};
