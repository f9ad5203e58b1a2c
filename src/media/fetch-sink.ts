import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { HashsendError } from '../errors.js';

/** file-type needs this many leading bytes to tell every format it knows. */
export const SNIFF_BYTES = 4100;

/** Decides the size cap from the first bytes (empty before any arrived) and the declared Content-Type. */
export type MaxBytesFor = (head: Uint8Array, declaredMimetype?: string) => number;

/** Writes happen in batches this large: fewer syscalls than one per socket read. */
const WRITE_BATCH = 1024 * 1024;
/** Bytes handed to the disk but not yet written; reading waits beyond this, which bounds memory. */
const MAX_IN_FLIGHT = 4 * WRITE_BATCH;

const tooLarge = (limit: number, seen: { received?: number; contentLength?: number }) =>
  new HashsendError('too_large', 413, `the file is larger than the ${limit} bytes allowed for its kind`, { limit, ...seen });

/**
 * The destination of one download: bytes are hashed and written to a temp file as they arrive, never held
 * whole. The cap is the caller's answer for an unknown type until the first SNIFF_BYTES are in, then its
 * answer for what those bytes are; a body that passes the cap is refused without reading on.
 */
export class HashingSink {
  private hash!: Hash;
  private head: Buffer[] = [];
  private headBytes = 0;
  private cap = 0;
  private sniffed = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  /** The chain of writes in flight: the socket is read and hashed while the disk writes the last batch. */
  private writing: Promise<unknown> = Promise.resolve();
  /** The batches in that chain, oldest first; each leaves when written, so reading waits for the oldest only. */
  private batches: Promise<unknown>[] = [];
  private inFlight = 0;
  /** The total the origin announced (Content-Length), when it did. */
  private expected: number | undefined;
  received = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly maxBytesFor: MaxBytesFor,
    private declaredMimetype: string | undefined,
  ) {
    this.reset(declaredMimetype);
  }

  static async open(path: string, maxBytesFor: MaxBytesFor, declaredMimetype?: string): Promise<HashingSink> {
    return new HashingSink(await open(path, 'w', 0o600), maxBytesFor, declaredMimetype);
  }

  /** Refuses before reading when the origin announces more bytes than remain under the cap. */
  checkLength(remaining: number | undefined): void {
    this.expected = remaining === undefined ? undefined : this.received + remaining;
    if (this.expected !== undefined && this.expected > this.cap) throw tooLarge(this.cap, { contentLength: this.expected });
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.push(chunk)) await this.whenWritable();
  }

  /**
   * Hashes the chunk and queues it for the disk, synchronously; throws when it passes the cap. False when the
   * disk is behind: the caller should read no more until `whenWritable()` resolves.
   */
  push(chunk: Buffer): boolean {
    const received = this.received + chunk.length;
    if (received > this.cap) throw tooLarge(this.cap, { received });
    if (!this.sniffed) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= SNIFF_BYTES) {
        this.sniff();
        if (this.expected !== undefined && this.expected > this.cap) {
          throw tooLarge(this.cap, { contentLength: this.expected });
        }
        if (received > this.cap) throw tooLarge(this.cap, { received });
      }
    }
    this.received = received;
    this.hash.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH) this.flush();
    return this.inFlight <= MAX_IN_FLIGHT;
  }

  /** Resolves once the disk has caught up enough to take more; rejects when a write failed. */
  async whenWritable(): Promise<void> {
    // Waiting for the whole chain would stall the socket until the disk is idle; the oldest batch frees enough.
    while (this.inFlight > MAX_IN_FLIGHT) await this.batches[0];
  }

  /** Starts again from zero: the resource changed under a resumed download. */
  async restart(declaredMimetype?: string): Promise<void> {
    await this.writing;
    await this.file.truncate(0);
    this.reset(declaredMimetype);
  }

  /** Flushes, closes the file and returns the hash; the cap is judged on the bytes there are if fewer than SNIFF_BYTES. */
  async finish(): Promise<{ sha256: string; size: number }> {
    if (!this.sniffed) this.sniff();
    if (this.received > this.cap) throw tooLarge(this.cap, { received: this.received });
    this.flush();
    await this.writing;
    await this.file.close();
    return { sha256: this.hash.digest('hex'), size: this.received };
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.file.close().catch(() => undefined);
  }

  private reset(declaredMimetype: string | undefined) {
    this.declaredMimetype = declaredMimetype;
    this.hash = createHash('sha256');
    this.head = [];
    this.headBytes = 0;
    this.sniffed = false;
    this.pending = [];
    this.pendingBytes = 0;
    this.written = 0;
    this.batches = [];
    this.inFlight = 0;
    this.received = 0;
    this.expected = undefined;
    this.cap = this.maxBytesFor(new Uint8Array(0), declaredMimetype);
  }

  private sniff() {
    this.sniffed = true;
    this.cap = this.maxBytesFor(Buffer.concat(this.head), this.declaredMimetype);
    this.head = [];
  }

  private flush() {
    if (this.pendingBytes === 0) return;
    const [buffers, bytes, position] = [this.pending, this.pendingBytes, this.written];
    this.pending = [];
    this.pendingBytes = 0;
    this.written += bytes;
    this.inFlight += bytes;
    const write = this.writing.then(async () => {
      await this.file.writev(buffers, position);
      this.inFlight -= bytes;
      this.batches.shift();
    });
    // Marked handled here; the failure still surfaces where `writing` is awaited.
    write.catch(() => undefined);
    this.writing = write;
    this.batches.push(write);
  }
}
