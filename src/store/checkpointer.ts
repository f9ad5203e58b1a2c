import sqlite3 from 'sqlite3';

/**
 * Keeps a WAL file bounded without checkpointing inside a commit. SQLite's automatic checkpoint runs in the commit
 * that passes 1,000 pages, fsync included, and the writer waits for it (about every 100 outbox messages). Here the
 * writing connection has it off; after every `everyCommits` commits a second connection copies the WAL into the
 * database on its own thread (PASSIVE: it never waits for nor blocks the writer). Under constant writes that alone
 * never lets the WAL start over (new frames always follow the copied ones), so once the WAL holds `hardPages` the
 * writing connection itself runs a RESTART with its new writes held back: what is left to copy (little, the passive
 * copy just ran) and one fsync, then the WAL starts over. Beside the writes (from the other connection, or this
 * one without holding them) it slept in the busy handler while they went on committing, and the WAL grew to ten
 * times the bound meanwhile. Once writes stop for `idleMs`, a TRUNCATE gives the file back.
 */
export interface CheckpointLimits {
  everyCommits: number;
  hardPages: number;
  idleMs: number;
}

export const DEFAULT_CHECKPOINT_LIMITS: CheckpointLimits = { everyCommits: 50, hardPages: 4000, idleMs: 1000 };

type Mode = 'PASSIVE' | 'RESTART' | 'TRUNCATE';

/**
 * Runs `sql` on the writing connection once its writes in flight have committed and `after` has settled, holding
 * back new writes meanwhile.
 */
export type Alone = (sql: string, after?: Promise<unknown>) => Promise<unknown[]>;

export const startCheckpointer = async (alone: Alone, file: string, busyTimeoutMs: number, limits: CheckpointLimits) => {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened: sqlite3.Database = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  db.configure('busyTimeout', busyTimeoutMs);
  /** Pages in the WAL as the last checkpoint found it (0 once it can start over). */
  let walPages = 0;
  let commits = 0;
  /** The WAL file is empty: no commit since the last TRUNCATE went through (a RESTART starts it over, not shorter). */
  let givenBack = true;
  let running: Promise<void> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const checkpoint = (mode: Mode, after?: Promise<unknown>) =>
    new Promise<void>((resolve) => {
      commits = 0;
      const sql = `PRAGMA wal_checkpoint(${mode})`;
      const done = (err: Error | null, rows?: unknown[]) => {
        const row = rows?.[0] as { busy: number; log: number } | undefined;
        // A failed or busy checkpoint loses nothing (the WAL keeps every commit); the next one tries again. One that
        // did not get the checkpoint lock at all (log -1) learned nothing of the WAL's size.
        if (!err && row) walPages = mode !== 'PASSIVE' && !row.busy ? 0 : row.log >= 0 ? row.log : walPages;
        if (mode === 'TRUNCATE' && !err && row && !row.busy) givenBack = true;
        resolve();
      };
      if (mode === 'PASSIVE') db.all(sql, done);
      else alone(sql, after).then((rows) => done(null, rows), done);
    });
  const run = (mode: Mode) => {
    const mine: Promise<void> = checkpoint(mode).finally(() => {
      if (running !== mine) return;
      running = undefined;
      if (!closed && walPages >= limits.hardPages) run('RESTART');
      // A TRUNCATE that found a reader in the way is tried again while the store stays idle.
      else if (!closed && mode === 'TRUNCATE' && !givenBack) idleTimer ??= setTimeout(idle, limits.idleMs).unref();
    });
    running = mine;
  };
  /**
   * A passive copy slow enough for many commits to pile up behind it (a busy disk, a busy CPU) would let the WAL
   * grow while it runs: new writes are held back and a RESTART follows it at once. Not beside it: SQLite refuses a
   * second checkpoint while one runs, without waiting (busy, log -1), and the WAL would go on growing.
   */
  const overtake = () => {
    const mine: Promise<void> = checkpoint('RESTART', running).then(() => {
      if (running === mine) running = undefined;
      if (!closed && walPages >= limits.hardPages) run('RESTART');
    });
    running = mine;
  };
  const idle = () => {
    idleTimer = undefined;
    if (running) idleTimer = setTimeout(idle, limits.idleMs).unref();
    else if (!givenBack) run('TRUNCATE');
  };

  return {
    /** A write transaction committed. */
    committed() {
      if (closed) return;
      commits += 1;
      givenBack = false;
      if (!running && commits >= limits.everyCommits) run(walPages >= limits.hardPages ? 'RESTART' : 'PASSIVE');
      else if (running && commits >= limits.everyCommits * 4) overtake();
      if (idleTimer) idleTimer.refresh();
      else idleTimer = setTimeout(idle, limits.idleMs).unref();
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      await running;
      await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    },
  };
};
