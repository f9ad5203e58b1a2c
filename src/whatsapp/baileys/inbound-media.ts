import { createHash } from 'node:crypto';
import { downloadContentFromMessage } from '@whiskeysockets/baileys';
import type { Dispatcher } from 'undici';
import type { InboundMediaFields } from './inbound.js';
import type { MediaType } from './media-content.js';

export interface InboundMediaSettings {
  /**
   * Baileys downloads with the global `fetch` and this dispatcher (not the https.Agent it uploads with): it
   * carries the download timeouts and any extra media CA.
   */
  dispatcher?: Dispatcher;
  /** Media declared or found larger than this is refused. */
  maxBytes: number;
}

/** Why an inbound attachment was not stored; the message id goes in the log beside it, never the bytes. */
export class InboundMediaError extends Error {
  constructor(
    readonly reason: 'too_large' | 'no_hash' | 'hash_mismatch' | 'download_failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InboundMediaError';
  }
}

/** The path to fetch on the chosen host; a message with only a URL has its path there. */
const pathOf = ({ directPath, url }: InboundMediaFields) => {
  if (directPath) return directPath;
  try {
    const parsed = url ? new URL(url) : undefined;
    return parsed ? parsed.pathname + parsed.search : undefined;
  } catch {
    return undefined;
  }
};

const lengthOf = (n: InboundMediaFields['fileLength']) => (n == null ? undefined : typeof n === 'number' ? n : n.toNumber());

/**
 * The host to download from: the URL's own when WhatsApp's server named it (a `*.whatsapp.net` host or one
 * from `media_conn`), else the first `media_conn` host. The URL comes from the sender's message, and rc14
 * downloads from whatever host it names: taken as is, a sender could make the gateway fetch any address.
 */
export const downloadHost = (url: string | null | undefined, mediaHosts: readonly string[]): string | undefined => {
  let host: string | undefined;
  try {
    host = url ? new URL(url).host : undefined;
  } catch {
    host = undefined;
  }
  if (host && (host.endsWith('.whatsapp.net') || mediaHosts.includes(host))) return host;
  return mediaHosts[0];
};

/**
 * Downloads and decrypts one attachment and checks its plaintext against the sha256 its sender declared
 * (`fileSha256`, inside the end-to-end encrypted message): the bytes returned are what the sender sent.
 */
export const fetchInboundMedia = async (
  media: InboundMediaFields,
  type: MediaType,
  host: string | undefined,
  { dispatcher, maxBytes }: InboundMediaSettings,
): Promise<{ bytes: Buffer; sha256: string }> => {
  const declared = media.fileSha256 ? Buffer.from(media.fileSha256).toString('hex') : undefined;
  if (declared?.length !== 64) throw new InboundMediaError('no_hash', 'the message declares no fileSha256');
  const length = lengthOf(media.fileLength);
  if (length !== undefined && length > maxBytes) {
    throw new InboundMediaError('too_large', `the attachment declares ${length} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const hash = createHash('sha256');
  try {
    const options: RequestInit & { dispatcher?: Dispatcher } = dispatcher ? { dispatcher } : {};
    const directPath = pathOf(media);
    if (!directPath) throw new Error('the message names no media path');
    // Never the URL itself: Baileys would fetch a URL without a directPath from whatever host it names.
    const stream = await downloadContentFromMessage({ mediaKey: media.mediaKey, directPath }, type, { ...(host ? { host } : {}), options });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        throw new InboundMediaError('too_large', `the attachment is larger than the ${maxBytes} bytes allowed`);
      }
      hash.update(chunk);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof InboundMediaError) throw error;
    throw new InboundMediaError('download_failed', `downloading the attachment failed: ${(error as Error).message}`, { cause: error });
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== declared) {
    throw new InboundMediaError('hash_mismatch', `the attachment hashes to ${sha256}, not the ${declared} its sender declared`);
  }
  return { bytes: Buffer.concat(chunks), sha256 };
};
