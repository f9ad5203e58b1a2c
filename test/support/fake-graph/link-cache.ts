import { createHash } from 'node:crypto';
import { fetch, type Agent } from 'undici';

export interface CachedLink {
  bytes: Buffer;
  sha256: string;
  mimeType: string;
  fetchedAt: number;
}

export type LinkResult = { ok: true; entry: CachedLink; fromCache: boolean } | { ok: false; details: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Meta's media fetcher for `link` sends: the first send of a URL downloads it, later sends of the same URL (the
 * exact string, query included) reuse those bytes without asking the origin again. Replacing the file behind a
 * URL therefore changes nothing for recipients, which is the stale-media problem this fake reproduces.
 * Only loopback URLs are fetched: tests never reach the internet.
 */
export class LinkCache {
  private readonly entries = new Map<string, CachedLink>();
  private readonly pending = new Map<string, Promise<LinkResult>>();
  /** Every URL actually fetched from its origin, in order. */
  readonly fetched: string[] = [];

  constructor(
    private readonly agent: Agent,
    private readonly signal: AbortSignal,
    private readonly now: () => number,
  ) {}

  get(url: string): CachedLink | undefined {
    return this.entries.get(url);
  }

  clear(url?: string): void {
    if (url === undefined) this.entries.clear();
    else this.entries.delete(url);
  }

  resolve(url: string): Promise<LinkResult> {
    const hit = this.entries.get(url);
    if (hit) return Promise.resolve({ ok: true, entry: hit, fromCache: true });
    // Two sends racing for one URL share one download, as a cache in front of an origin does.
    let job = this.pending.get(url);
    if (!job) {
      job = this.download(url).finally(() => this.pending.delete(url));
      this.pending.set(url, job);
    }
    return job;
  }

  /** GETs the URL, following up to 5 redirects, each hop held to loopback. */
  private async follow(url: string) {
    let at = url;
    for (let hop = 0; hop <= 5; hop++) {
      const host = new URL(at).hostname;
      if (!LOOPBACK.has(host)) throw new Error(`${host} is not reachable from the fake (loopback only)`);
      const res = await fetch(at, { dispatcher: this.agent, signal: this.signal, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.arrayBuffer().catch(() => undefined);
      at = new URL(location, at).href;
    }
    throw new Error('too many redirects');
  }

  private async download(url: string): Promise<LinkResult> {
    this.fetched.push(url);
    try {
      const res = await this.follow(url);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) {
        return {
          ok: false,
          details: `Downloading media from weblink failed with http code ${res.status}, status message ${res.statusText}`,
        };
      }
      const entry: CachedLink = {
        bytes,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        mimeType: (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0].trim(),
        fetchedAt: this.now(),
      };
      this.entries.set(url, entry);
      return { ok: true, entry, fromCache: false };
    } catch (err) {
      return { ok: false, details: `Downloading media from weblink failed: ${(err as Error).message}` };
    }
  }
}
