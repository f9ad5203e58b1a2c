import { writeSync } from 'node:fs';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../fs/atomic-file.js';
import { isObject } from '../../lib/json.js';

/** The sandbox's whole world for one session: the "phone" it is linked to and what recipients received. */
export interface SandboxState {
  me: { id: string; name: string } | null;
  /** By message id, in the order they first arrived: a phone shows a message id once. */
  deliveries: Map<string, SandboxDelivery>;
  /** Failures injected by a test and not yet used: survive a restart like the rest. */
  failures: SandboxFailure[];
}

export interface SandboxDelivery {
  messageId: string;
  to: string;
  type: 'text' | 'media' | 'contact' | 'location';
  text?: string;
  mentions?: string[];
  contact?: { name: string; phone: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  as?: string;
  /** sha256 of the bytes the recipient got, hashed by the sandbox from what it read. */
  sha256?: string;
  mimetype?: string;
  size?: number;
  caption?: string;
  filename?: string;
  viewOnce?: boolean;
  /** How many times a send with this message id arrived; a phone shows one message whatever this says. */
  sendAttempts: number;
  receivedAt: string;
  /** When a send of it was answered; receipts follow only an answered send, as WhatsApp's follow its server ack. */
  acknowledgedAt?: string;
  deliveredAt?: string;
  readAt?: string;
}

export type SandboxFailureMode = 'error' | 'hang' | 'hang_after_delivery';

export interface SandboxFailure {
  code: string;
  status: number;
  mode: SandboxFailureMode;
}

/**
 * One change, as one line of the journal. Failures are journalled as added (`count` copies of one) and used (from
 * the front), never as the pending list: a test that queues a thousand costs a line per change, not the list.
 * `{ failures }` (the whole list) is what older journals hold; it is still read.
 */
export type SandboxEvent =
  | { me: SandboxState['me'] }
  | { failuresAdded: SandboxFailure; count: number }
  | { failuresUsed: number }
  | { failures: SandboxFailure[] }
  | { delivery: SandboxDelivery };

export class CorruptStateError extends Error {}

/**
 * The file is JSON lines: the first is a snapshot (`{me, deliveries: [...], failures}`, the format the whole file
 * had before it became a journal), each further line one event replayed over it. Appending costs the same at the
 * hundredth delivery as at the millionth; the file is rewritten as a snapshot once its events outnumber the state
 * they describe several times over, so rewriting stays O(1) per event on average.
 */
const FILE = 'sandbox.json';
const COMPACT_MIN_EVENTS = 1000;
const COMPACT_FACTOR = 4;

const apply = (state: SandboxState, event: unknown): boolean => {
  if (!isObject(event)) return false;
  if ('delivery' in event) {
    const d = event.delivery;
    if (!isObject(d) || typeof d.messageId !== 'string') return false;
    state.deliveries.set(d.messageId, d as unknown as SandboxDelivery);
    return true;
  }
  if ('me' in event) {
    state.me = (event.me as SandboxState['me']) ?? null;
    return true;
  }
  if ('failuresAdded' in event && isObject(event.failuresAdded) && Number.isInteger(event.count)) {
    for (let i = 0; i < (event.count as number); i++) state.failures.push({ ...(event.failuresAdded as unknown as SandboxFailure) });
    return true;
  }
  if ('failuresUsed' in event && Number.isInteger(event.failuresUsed)) {
    state.failures.splice(0, event.failuresUsed as number);
    return true;
  }
  if ('failures' in event && Array.isArray(event.failures)) {
    state.failures = event.failures as SandboxFailure[];
    return true;
  }
  return false;
};

const empty = (): SandboxState => ({ me: null, deliveries: new Map(), failures: [] });

/** Parses the file; `torn` when its last line was cut short (the process died inside an append). */
const replay = (raw: string, file: string): { state: SandboxState; events: number; torn: boolean } => {
  const corrupt = (why: string, cause?: unknown) => new CorruptStateError(`${file} ${why}`, { cause });
  const lines = raw.split('\n');
  let header: unknown;
  try {
    header = JSON.parse(lines[0]);
  } catch (err) {
    throw corrupt('is not valid JSON', err);
  }
  if (!isObject(header) || (header.deliveries !== undefined && !Array.isArray(header.deliveries)))
    throw corrupt('does not start with a sandbox state');
  const state = empty();
  state.me = (header.me as SandboxState['me']) ?? null;
  state.failures = Array.isArray(header.failures) ? (header.failures as SandboxFailure[]) : [];
  for (const d of (header.deliveries ?? []) as unknown[])
    if (!apply(state, { delivery: d })) throw corrupt('holds a delivery without a message id');
  let events = 0;
  let torn = false;
  for (let i = 1; i < lines.length; i++) {
    const last = i === lines.length - 1;
    if (last && lines[i] === '') break;
    let event: unknown;
    try {
      event = JSON.parse(lines[i]);
    } catch (err) {
      // Only an unterminated last line can be a write the process died in: its send or receipt never completed,
      // so nobody was told it happened. A bad line anywhere else is damage, never skipped.
      if (last) {
        torn = true;
        break;
      }
      throw corrupt(`line ${i + 1} is not valid JSON`, err);
    }
    if (!apply(state, event)) throw corrupt(`line ${i + 1} is not a sandbox event`);
    events++;
  }
  return { state, events, torn: torn || !raw.endsWith('\n') };
};

export interface SandboxJournal {
  /** The state as loaded; the caller changes it in place and records each change. */
  readonly state: SandboxState;
  /** Appends the event (serialized now); resolves once it is written. Events recorded while a write runs share the next. */
  record(event: SandboxEvent): Promise<void>;
  /** Waits for every recorded event to be written and closes the file. */
  close(): Promise<void>;
}

/**
 * Loads the session's state. A missing file is a fresh session; an unreadable one throws CorruptStateError (the
 * session needs relinking), never a silent reset: the journal then holds an empty state, and only a deliberate
 * change (a logout, a new link) writes over the damaged file.
 *
 * Appends are not fsynced. A completed write() is in the kernel's page cache, so it survives the process being
 * killed (SIGKILL, a crash), which is what the sandbox promises, like the message store (SQLite WAL with
 * synchronous=NORMAL) beside it; only a power cut could lose the last events, and the store would lose its last
 * commits with them. A snapshot is fsynced before it replaces the file, so a power cut never leaves less than
 * the previous file.
 */
export const openJournal = async (dir: string): Promise<{ journal: SandboxJournal; corrupt?: CorruptStateError }> => {
  const file = path.join(dir, FILE);
  let state = empty();
  let events = 0;
  let rewrite = false;
  let corrupt: CorruptStateError | undefined;
  let exists = true;
  try {
    ({ state, events, torn: rewrite } = replay(await readFile(file, 'utf8'), file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') exists = false;
    else if (err instanceof CorruptStateError) {
      corrupt = err;
      rewrite = true;
    } else throw err;
  }

  let handle: FileHandle | undefined;
  const snapshot = async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      file,
      JSON.stringify({ me: state.me, deliveries: [...state.deliveries.values()], failures: state.failures }) + '\n',
    );
    await handle?.close();
    handle = await open(file, 'a', 0o600);
    events = 0;
    rewrite = false;
  };
  const write = async (lines: string[]) => {
    // The snapshot holds every change made so far, these lines' included.
    if (rewrite || !exists || events + lines.length > Math.max(COMPACT_MIN_EVENTS, COMPACT_FACTOR * state.deliveries.size)) {
      exists = true;
      return snapshot();
    }
    handle ??= await open(file, 'a', 0o600);
    try {
      // Written at once, not through the thread pool: a send awaits its delivery line, and on a busy machine the
      // trip to a pool thread and back cost more than the few microseconds a small append blocks the loop.
      const data = Buffer.from(lines.join(''));
      for (let written = 0; written < data.length;) written += writeSync(handle.fd, data, written);
    } catch (err) {
      // Part of the batch may be in the file: the next write replaces it with a snapshot instead of appending.
      rewrite = true;
      throw err;
    }
    events += lines.length;
  };

  interface Batch {
    lines: string[];
    done: Promise<void>;
  }
  let writes: Promise<unknown> = Promise.resolve();
  /** The next write, not started yet: events recorded meanwhile join it. */
  let queued: Batch | undefined;
  const journal: SandboxJournal = {
    state,
    record(event) {
      let batch = queued;
      if (!batch) {
        const q: Batch = { lines: [], done: Promise.resolve() };
        q.done = writes.then(() => {
          if (queued === q) queued = undefined;
          return write(q.lines);
        });
        writes = q.done.catch(() => undefined);
        batch = queued = q;
      }
      batch.lines.push(JSON.stringify(event) + '\n');
      return batch.done;
    },
    async close() {
      await writes;
      await handle?.close();
      handle = undefined;
    },
  };
  return { journal, ...(corrupt ? { corrupt } : {}) };
};
