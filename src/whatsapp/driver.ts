import type { z } from 'zod';
import type { Logger } from '../log.js';

/** A session's state as the API reports it. */
export type SessionState = 'starting' | 'qr' | 'connected' | 'reconnecting' | 'logged_out' | 'conflict' | 'needs_relink' | 'stopped';

/** How a media message is presented to the recipient. `voice` is audio sent as a push-to-talk note. */
export type SendAs = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker';

export interface OutboundText {
  type: 'text';
  text: string;
  /** User JIDs the text mentions (`@4915…` in it): WhatsApp highlights them and notifies them in a group. */
  mentions?: string[];
}

export interface OutboundMedia {
  type: 'media';
  as: SendAs;
  /** The blob to send: its bytes must hash to this, and the driver checks it on the prepared message. */
  sha256: string;
  mimetype: string;
  size: number;
  caption?: string;
  filename?: string;
  /** 32 px JPEG preview as base64, when the media core made one. */
  thumbnail?: string;
  /** Shown once, then gone from the recipient's chat (images, videos and audio only). */
  viewOnce?: boolean;
}

export interface OutboundContact {
  type: 'contact';
  name: string;
  phone: string;
}

export interface OutboundLocation {
  type: 'location';
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
}

/** A stored blob a template's header shows: resolved through the freshness pipeline, sent by the driver's media id. */
export interface TemplateMedia {
  sha256: string;
  mimetype: string;
  size: number;
  filename?: string;
}

/** One of a template's variables, in Meta's shape; media parameters name a blob instead of Meta's `id` or `link`. */
export type TemplateParameter =
  | { type: 'text'; text: string }
  | { type: 'payload'; payload: string }
  | { type: 'currency'; currency: { fallback_value: string; code: string; amount_1000: number } }
  | { type: 'date_time'; date_time: { fallback_value: string } }
  | { type: 'image'; image: TemplateMedia }
  | { type: 'video'; video: TemplateMedia }
  | { type: 'document'; document: TemplateMedia };

export interface TemplateComponent {
  type: 'header' | 'body' | 'button';
  /** Buttons only: `quick_reply`, `url`, … */
  sub_type?: string;
  /** Buttons only: the button's position. */
  index?: number;
  parameters: TemplateParameter[];
}

/** A message template approved by Meta, with its variables filled in. */
export interface OutboundTemplate {
  type: 'template';
  name: string;
  /** Meta's language code of the approved translation (`en_US`). */
  language: string;
  components: TemplateComponent[];
}

export type OutboundContent = OutboundText | OutboundMedia | OutboundContact | OutboundLocation | OutboundTemplate;

export interface SendRequest {
  /** Ours, chosen before the first attempt: a retry after a crash reuses it, so the recipient sees one message. */
  messageId: string;
  /** A user or group JID (`4915123456789@s.whatsapp.net`, `1203…@g.us`). */
  to: string;
  content: OutboundContent;
  /** The inbound message this one answers; a driver that can quote it does. */
  quoted?: { waMessageId: string; from: string; chat: string };
}

export interface SentRef {
  /** WhatsApp's id of the message (equal to `messageId` for drivers that let us choose it). */
  waMessageId: string;
  /** The plaintext sha256 of the media as prepared for WhatsApp (what the hash guard compared). */
  sentSha256?: string;
}

/** What arrived in a message for the session. Media is already verified against the sender's hash and stored. */
export type InboundContent =
  | { type: 'text'; text: string }
  | { type: 'media'; as: SendAs; sha256: string; mimetype: string; size: number; caption?: string; filename?: string }
  /** A reaction to `messageId`; an empty `emoji` takes the reaction back. */
  | { type: 'reaction'; messageId: string; emoji: string };

/** A message that arrived for the session, as the driver read it. */
export interface InboundDriverMessage {
  /** WhatsApp's id of the message (unique per sender). */
  waMessageId: string;
  /** The chat: the sender's JID for a direct message, the group's for a group message. */
  chat: string;
  /** Who sent it: in a group, the participant. */
  from: string;
  /** The name the sender gave WhatsApp. */
  pushName?: string;
  /** When the sender sent it (ISO 8601). */
  timestamp: string;
  content: InboundContent;
  /** The WhatsApp id of the message this one quotes. */
  replyTo?: string;
}

export type ReceiptStatus = 'sent' | 'delivered' | 'read' | 'failed';

export type DriverEvent =
  | { type: 'state'; state: SessionState; reason?: string; code?: number }
  | { type: 'qr'; qr: string; expiresAt: string }
  | { type: 'me'; id: string; name?: string }
  /**
   * In a group, each member's receipt arrives on its own, named by `participant`. `sent` and `failed` come from
   * platforms that accept a message first and report on it later (the Cloud API); `failed` carries why.
   */
  | { type: 'receipt'; waMessageId: string; status: ReceiptStatus; participant?: string; error?: { code: string; message: string } }
  | { type: 'inbound'; message: InboundDriverMessage };

/** What a driver may read: blobs, verified against their hash as they are read. */
export interface BlobReader {
  read(sha256: string): Promise<Buffer>;
}

/** What a driver may read and store: inbound media is written under the hash its sender declared. */
export interface DriverBlobs extends BlobReader {
  /** Stores `bytes` as the blob `sha256`; `hash_mismatch` (nothing stored) when they hash to anything else. */
  write(bytes: Buffer, sha256: string): Promise<void>;
}

export interface DriverSessionOptions<O = unknown> {
  sessionId: string;
  /** The session's options as the driver's schema parsed them; absent for a driver that takes none. */
  options?: O;
  /** `SESSIONS_DIR/<id>`: the driver's own folder for credentials (0700, files 0600). */
  dir: string;
  log: Logger;
  blobs: DriverBlobs;
  onEvent(event: DriverEvent): void;
}

/** What a session can show a chat (or everyone, without a chat): typing, recording, online, offline, stopped typing. */
export type Presence = 'composing' | 'recording' | 'available' | 'unavailable' | 'paused';

/** Whether a number has a WhatsApp account, as WhatsApp answered for it. */
export interface OnWhatsAppResult {
  /** The number as asked, digits only. */
  phone: string;
  exists: boolean;
  /** The account's JID when it exists. */
  jid?: string;
}

/** One WhatsApp session held by a driver. Errors a caller should see are HashsendErrors with stable codes. */
export interface DriverSession {
  /** Connects: restores credentials when linked, otherwise starts emitting `qr` events. */
  start(): Promise<void>;
  send(request: SendRequest): Promise<SentRef>;
  /** Links by an 8-character code typed on the phone instead of a QR scan. */
  requestPairingCode(phone: string): Promise<string>;
  /** Unlinks on WhatsApp's side and removes the credentials. */
  logout(): Promise<void>;
  /** Closes the connection, keeping credentials. */
  stop(): Promise<void>;
  /** Asks WhatsApp which of these numbers (digits only, international form) have an account; optional. */
  onWhatsApp?(phones: string[]): Promise<OnWhatsAppResult[]>;
  /** Shows `presence` in the chat `jid` (or to everyone, without one); optional. */
  sendPresence?(presence: Presence, jid?: string): Promise<void>;
  /** Answers a request the platform sent to `/hooks/<session id>` (drivers with `inboundHttp`). */
  handleHttp?(request: InboundHttpRequest): Promise<InboundHttpResponse>;
}

/** A request to `/hooks/<session id>`, as http read it: the raw body, for signatures over its bytes. */
export interface InboundHttpRequest {
  method: 'GET' | 'POST';
  query: Record<string, string | undefined>;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface InboundHttpResponse {
  status: number;
  body?: string;
  contentType?: string;
}

/** What a driver can do; what it cannot is refused before anything is queued (`422 unsupported_by_driver`). */
export interface DriverCapabilities {
  /** How a session is linked: by scanning a QR, by typing a pairing code; none for one linked by its options. */
  linking: readonly ('qr' | 'code')[];
  /** The content types it sends. */
  content: readonly OutboundContent['type'][];
  /** How it presents media. */
  mediaAs: readonly SendAs[];
  mentions: boolean;
  viewOnce: boolean;
  /** Whether a reply quotes the message it answers. */
  quoting: boolean;
  /** The platform chooses the message id (not our `messageId`): a send retried after a crash may show twice. */
  ownMessageIds: boolean;
  /** The platform calls us (`/hooks/<session id>`, `handleHttp`) with events. */
  inboundHttp: boolean;
  /** Optional session tools it offers. */
  onWhatsApp: boolean;
  presence: boolean;
}

/** A driver's per-session options: given at creation, stored with the session's credentials (0600). */
export interface DriverOptionsSpec<O> {
  schema: z.ZodType<O>;
  /** The options as the API shows them: secrets left out. */
  view(options: O, sessionId: string): Record<string, unknown>;
  /**
   * Refuses (throws a HashsendError) options this server's settings cannot serve, when a session is created or its
   * options are changed; options already stored are not checked again, so a session is never lost to a setting.
   */
  check?(options: O): void;
}

export interface Driver<O = unknown> {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Present when a session of this driver needs options (the Cloud API's number id and token). */
  readonly options?: DriverOptionsSpec<O>;
  open(options: DriverSessionOptions<O>): DriverSession;
}
