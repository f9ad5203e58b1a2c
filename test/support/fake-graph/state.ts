import { EventEmitter } from 'node:events';
import type { WebhookError } from './errors.ts';

export type StatusName = 'sent' | 'delivered' | 'read';
export type MessageStatus = 'accepted' | StatusName | 'failed';

export interface NumberOptions {
  phoneNumberId: string;
  accessToken: string;
  appSecret: string;
  displayPhoneNumber: string;
  verifiedName: string;
  /** Meta's app "Callback URL": where this number's webhooks go. */
  callbackUrl?: string;
  /** @default a 15-digit id derived from the phone-number id */
  wabaId?: string;
  /** @default 'GREEN' */
  qualityRating?: 'GREEN' | 'YELLOW' | 'RED' | 'UNKNOWN';
}

export interface PlannedFailure {
  code: number;
  /** @default 1 */
  times?: number;
  /** Accept the message, then send a `failed` status webhook with this error. */
  async?: boolean;
  details?: string;
}

export interface FakeNumber extends Required<Omit<NumberOptions, 'callbackUrl'>> {
  callbackUrl?: string;
  /** Recipients (digits) a dev app may message; undefined: anyone. */
  allowed?: Set<string>;
  serviceWindow: boolean;
  statuses: StatusName[];
  failures: PlannedQueueItem[];
}

export interface PlannedQueueItem {
  code: number;
  left: number;
  async: boolean;
  details?: string;
}

export interface StoredMedia {
  id: string;
  phoneNumberId: string;
  bytes: Buffer;
  /** Hex sha256 of the bytes. */
  sha256: string;
  mimeType: string;
  size: number;
  at: number;
  filename?: string;
  /** Gone, as after Meta's 30 days or a DELETE. */
  gone: boolean;
  /** Sent by a customer (from `receive`), not uploaded by the business. */
  inbound: boolean;
}

export interface MessageMedia {
  /** Hex sha256 of the bytes the recipient gets. */
  sha256: string;
  via: 'id' | 'link';
  mediaId?: string;
  link?: string;
  mimeType: string;
}

export interface FakeGraphMessage {
  id: string;
  phoneNumberId: string;
  /** Digits only, as Meta's `wa_id`. */
  to: string;
  type: string;
  /** The request JSON as it arrived. */
  body: Record<string, unknown>;
  media?: MessageMedia;
  status: MessageStatus;
  errors?: WebhookError[];
  at: number;
}

export interface UploadRecord {
  id: string;
  phoneNumberId: string;
  sha256: string;
  mimeType: string;
  size: number;
  at: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

export interface WebhookPost {
  phoneNumberId: string;
  kind: 'status' | 'message';
  url: string;
  /** Parsed body, and the raw text that was signed. */
  body: Record<string, unknown>;
  raw: string;
  signature: string;
  /** 1 for the first try, then each retry. */
  attempt: number;
  /** The callback's HTTP status; 0 when it never answered. */
  answered: number;
  error?: string;
  /** For status posts: which message and status. */
  messageId?: string;
  status?: MessageStatus;
}

/** Everything the fake remembers, with a `change` event after each mutation so tests can wait on it. */
export class GraphState extends EventEmitter {
  readonly numbers = new Map<string, FakeNumber>();
  readonly expiredTokens = new Set<string>();
  readonly media = new Map<string, StoredMedia>();
  readonly messages: FakeGraphMessage[] = [];
  readonly uploads: UploadRecord[] = [];
  readonly requests: RequestRecord[] = [];
  readonly webhookPosts: WebhookPost[] = [];
  /** Last time (ms) each customer (digits) wrote to each number, for the 24-hour service window. */
  readonly lastInbound = new Map<string, number>();

  changed(): void {
    this.emit('change');
  }

  numberForToken(token: string): FakeNumber | undefined {
    for (const n of this.numbers.values()) if (n.accessToken === token) return n;
    return undefined;
  }

  tokenKnown(token: string): boolean {
    return this.numberForToken(token) !== undefined;
  }

  /** Whether this token may act for the number that owns `phoneNumberId` (numbers of one WABA share tokens). */
  tokenMayUse(token: string, phoneNumberId: string): boolean {
    const owner = this.numbers.get(phoneNumberId);
    if (!owner) return false;
    if (owner.accessToken === token) return true;
    return [...this.numbers.values()].some((n) => n.accessToken === token && n.wabaId === owner.wabaId);
  }

  inboundKey(phoneNumberId: string, customer: string): string {
    return `${phoneNumberId}:${customer}`;
  }
}
