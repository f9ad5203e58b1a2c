import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { removeFileDurably, TEMP_SUFFIX, writeFileAtomic } from '../../fs/atomic-file.js';
import { KeyedQueue } from '../../lib/keyed-queue.js';
import type { CredentialStore, SessionRecords } from './records.js';

const SUFFIX = '.json';
const fileOf = (name: string) => `${name}${SUFFIX}`;

/**
 * Records as files in `dir` (`<name>.json`), written atomically (temp, fsync, rename) with mode 0600 in a 0700
 * folder, one write at a time per file so the last asked is the last on disk. On a volume every node mounts, this
 * is also the shared store.
 */
export const fileRecords = (
  dir: string,
  {
    guard,
  }: {
    /** Runs once per write or wipe, before anything changes; a rejection refuses it (see `fencedFiles`). */
    guard?: () => Promise<void>;
  } = {},
): SessionRecords => {
  const queue = new KeyedQueue();
  let wiped = false;
  // Written before a session first opens (a driver's options), so the folder may not be there yet.
  let folder: Promise<unknown> | undefined;
  // Queued at once, in the order asked: anything awaited before taking a place in the queue would let an older
  // save land after a newer one.
  const change = (name: string, value: string | null, allowed?: Promise<void>) =>
    queue.run(name, async () => {
      await allowed;
      if (wiped) return;
      if (value === null) return removeFileDurably(path.join(dir, fileOf(name)));
      await (folder ??= mkdir(dir, { recursive: true, mode: 0o700 }));
      await writeFileAtomic(path.join(dir, fileOf(name)), value);
    });
  const readOne = (name: string) =>
    queue.run(name, async () => {
      try {
        return await readFile(path.join(dir, fileOf(name)), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    });

  return {
    location: dir,
    async open() {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
      const names = await readdir(dir);
      // Leftovers of writes a crash interrupted: the rename never happened, so the real file is intact.
      await Promise.all(names.filter((n) => n.endsWith(TEMP_SUFFIX)).map((n) => rm(path.join(dir, n), { force: true })));
      return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
    },
    read: (names) => Promise.all(names.map(readOne)),
    async write(changes) {
      if (wiped) return;
      // One check for the batch, started now and awaited in each file's turn: the queue's order stays the order asked.
      const allowed = guard?.();
      allowed?.catch(() => undefined);
      await Promise.all(changes.map(([name, value]) => change(name, value, allowed)));
    },
    async wipe() {
      await guard?.();
      wiped = true;
      await queue.drain();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/**
 * `CREDENTIALS_STORE=files`: each session's records in `SESSIONS_DIR/<id>`. `guard(sessionId)`, when given, runs
 * before each write and may refuse it.
 */
export const fileCredentials = (sessionsDir: string, guard?: (sessionId: string) => Promise<void>): CredentialStore => ({
  kind: 'files',
  session: (sessionId) => fileRecords(path.join(sessionsDir, sessionId), guard ? { guard: () => guard(sessionId) } : {}),
});
