import type { Store } from '../../store/index.js';

/** An upload Meta holds for us: its id and the sha256 Meta computed of what it received. */
export interface MediaIdEntry {
  mediaId: string;
  sha256: string;
  /** Epoch ms after which the id is not used (upload time + the configured lifetime). */
  expiresAt: number;
}

export interface MediaIdCacheOptions {
  store: Store;
  /** How long after an upload its id is trusted (Meta keeps uploads 30 days). */
  ttlMs: number;
  /** An id this close to its expiry is uploaded again rather than risked. @default one day, at most half of ttlMs */
  renewBeforeMs?: number;
  now?: () => number;
}

/**
 * `phoneNumberId:sha256 → media id`: one content is uploaded once per number however many messages use it, and a
 * changed file is a new hash, so a new upload; an id can never stand for other bytes. Concurrent sends of one
 * content share one upload in flight. Kept in the store so a restart does not upload everything again.
 */
export class MediaIdCache {
  private readonly inFlight = new Map<string, Promise<MediaIdEntry>>();
  private readonly store: Store;
  private readonly ttlMs: number;
  private readonly renewBeforeMs: number;
  private readonly now: () => number;

  constructor({ store, ttlMs, renewBeforeMs = Math.min(24 * 3600_000, ttlMs / 2), now = Date.now }: MediaIdCacheOptions) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.renewBeforeMs = renewBeforeMs;
    this.now = now;
  }

  /** The id for this content, uploading through `upload` when there is none fresh; `reused` when no upload ran for this call. */
  async get(
    phoneNumberId: string,
    sha256: string,
    upload: () => Promise<Omit<MediaIdEntry, 'expiresAt'>>,
  ): Promise<{ entry: MediaIdEntry; reused: boolean }> {
    const key = `${phoneNumberId}:${sha256}`;
    const running = this.inFlight.get(key);
    if (running) return { entry: await running, reused: true };
    const stored = (await this.store.get(key)) as MediaIdEntry | undefined;
    if (stored && stored.expiresAt - this.renewBeforeMs > this.now()) return { entry: stored, reused: true };
    // Looked again: another send may have started the upload while the store was read.
    const started = this.inFlight.get(key);
    if (started) return { entry: await started, reused: true };
    const uploading = (async () => {
      const uploadedAt = this.now();
      const entry = { ...(await upload()), expiresAt: uploadedAt + this.ttlMs };
      await this.store.set(key, entry, this.ttlMs);
      return entry;
    })();
    this.inFlight.set(key, uploading);
    try {
      return { entry: await uploading, reused: false };
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Forgets an id Meta no longer takes, unless it was replaced meanwhile: the next send uploads again. */
  async invalidate(phoneNumberId: string, sha256: string, mediaId: string) {
    const key = `${phoneNumberId}:${sha256}`;
    const stored = (await this.store.get(key)) as MediaIdEntry | undefined;
    if (stored?.mediaId === mediaId) await this.store.delete(key);
  }
}
