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

export type OutboundContent = OutboundText | OutboundMedia | OutboundContact | OutboundLocation;

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

export type DriverEvent =
  | { type: 'state'; state: SessionState; reason?: string; code?: number }
  | { type: 'qr'; qr: string; expiresAt: string }
  | { type: 'me'; id: string; name?: string }
  /** In a group, each member's receipt arrives on its own, named by `participant`. */
  | { type: 'receipt'; waMessageId: string; status: 'delivered' | 'read'; participant?: string }
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

export interface DriverSessionOptions {
  sessionId: string;
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
}

export interface Driver {
  readonly name: string;
  open(options: DriverSessionOptions): DriverSession;
}
