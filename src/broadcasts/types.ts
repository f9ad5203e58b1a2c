import type { OutboundMedia, OutboundTemplate, OutboundText } from '../whatsapp/driver.js';

export type BroadcastStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';

/** `pending`: not handed to the outbox yet; then the message's own status; `skipped`: never sent (cancelled, opted out). */
export type RecipientStatus = 'pending' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'skipped';

export interface Pace {
  /** Messages a minute at most. */
  perMinute: number;
  /** Each gap varies by up to this fraction of the mean gap, at random (0 to 1). */
  jitter: number;
}

export interface QuietHours {
  /** Local times `HH:MM`; no sends from `start` until `end` (may cross midnight). */
  start: string;
  end: string;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  timezone: string;
}

/** A broadcast as stored. The content is composed once at creation: media pinned to one sha256 for every recipient. */
export interface Broadcast {
  id: string;
  sessionId: string;
  name: string;
  status: BroadcastStatus;
  /** Text and caption may hold `{{placeholders}}` filled from each recipient's `vars`. */
  content: OutboundText | OutboundMedia | OutboundTemplate;
  media?: { sha256: string; sourceSha256?: string };
  /** When sending starts; absent: at once. */
  scheduledAt?: string;
  /** Absent: no pacing (as fast as the session sends). */
  pace?: Pace;
  /** Sends a day for the session at most, counted in the quiet hours' time zone (UTC without). */
  dailyCap?: number;
  quietHours?: QuietHours;
  /** Why it is paused (by the operator, or automatically: a run of failures, rate limits, a logged-out session). */
  pausedReason?: { code: string; message: string };
  total: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface BroadcastRecipient {
  broadcastId: string;
  /** The recipient's place in the list, from 0; sends go out in this order. */
  index: number;
  /** The recipient's JID. */
  to: string;
  vars?: Record<string, string>;
  status: RecipientStatus;
  messageId?: string;
  /** The sha256 that went out (the hash guard's), for media. */
  sentSha256?: string;
  error?: { code: string; message: string };
  queuedAt?: string;
  sentAt?: string;
  deliveredAt?: string;
  readAt?: string;
}

export type RecipientCounts = Record<RecipientStatus, number>;
