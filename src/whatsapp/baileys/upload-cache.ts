import type { proto } from '@whiskeysockets/baileys';
import type { SendAs } from '../driver.js';

interface Entry {
  prepared: proto.IMessage;
  expiresAt: number;
}

export interface UploadCacheOptions {
  /** How long WhatsApp is trusted to keep serving an upload. */
  ttlMs: number;
  now?: () => number;
}

/**
 * Uploads already made, keyed by content hash and presentation, so one content goes to many recipients
 * with one upload. Unlike Baileys' `mediaCache` (keyed by URL), a replaced file has a new hash and
 * therefore a new entry: it can never be served stale. Concurrent sends of the same content share one
 * upload in flight.
 */
export class UploadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<proto.IMessage>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor({ ttlMs, now = Date.now }: UploadCacheOptions) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** The prepared media for `(sha256, as)`, uploading through `prepare` when none is fresh. */
  async get(sha256: string, as: SendAs, prepare: () => Promise<proto.IMessage>): Promise<{ prepared: proto.IMessage; reused: boolean }> {
    const key = `${sha256}:${as}`;
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) return { prepared: entry.prepared, reused: true };
    this.entries.delete(key);
    const running = this.inFlight.get(key);
    if (running) return { prepared: await running, reused: true };
    const upload = prepare();
    this.inFlight.set(key, upload);
    try {
      const prepared = await upload;
      this.prune();
      this.entries.set(key, { prepared, expiresAt: this.now() + this.ttlMs });
      return { prepared, reused: false };
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Forgets an upload WhatsApp no longer accepts, so the next send uploads again. */
  invalidate(sha256: string, as: SendAs) {
    this.entries.delete(`${sha256}:${as}`);
  }

  private prune() {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
