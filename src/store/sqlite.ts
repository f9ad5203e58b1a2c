import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter } from 'keyv';
import sqlite3 from 'sqlite3';
import { DEFAULT_CHECKPOINT_LIMITS, startCheckpointer, type CheckpointLimits } from './checkpointer.js';
import { call, execWhileBusy, openConnection, stepWhileBusy } from './sqlite-statements.js';

/**
 * A Keyv adapter over one SQLite connection, with each table's statements prepared once. @keyv/sqlite prepares,
 * runs and finalizes a statement per call (three trips through the thread pool, each with its callback on the
 * main thread) and opens a connection per table, whose writes then wait on each other's lock. The tables keep
 * @keyv/sqlite's layout, so a data folder it wrote reads the same.
 */
export interface SqliteConnection {
  table(name: string): KeyvStoreAdapter;
  close(): Promise<void>;
}

const tableName = (name: string) => {
  const clean = name.replace(/[^a-zA-Z0-9_]/g, '');
  if (!clean) throw new Error(`invalid table name "${name}"`);
  return /^[a-zA-Z]/.test(clean) ? clean : `_${clean}`;
};

export const openSqlite = async (
  file: string,
  { busyTimeoutMs, checkpoints = DEFAULT_CHECKPOINT_LIMITS }: { busyTimeoutMs: number; checkpoints?: CheckpointLimits },
): Promise<SqliteConnection> => {
  // A write that finds another connection's lock waits in JavaScript, not in a pool thread (see retryWhileBusy).
  const db = await openConnection(file);
  const exec = (sql: string) => execWhileBusy(db, sql, busyTimeoutMs);
  // WAL is kept in the file; `synchronous=NORMAL` is per connection: in WAL mode a commit survives the process
  // crashing or being killed (what the outbox promises); only a power cut can lose the last commits.
  await exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0');
  let inFlight = 0;
  let drained: (() => void) | undefined;
  /** Set while a checkpoint runs alone on this connection: writes wait for it. */
  let gate: Promise<unknown> | undefined;
  const alone = (sql: string, after?: Promise<unknown>) => {
    const run = (async () => {
      if (inFlight) await new Promise<void>((resolve) => (drained = resolve));
      // Writes are held from here: another connection's checkpoint under way is waited out before this one starts.
      await after;
      // The one wait kept in SQLite: a RESTART must outwait the other connection's passive copy, and with this
      // connection's writes held back it takes one pool thread, never the lock another writer waits to commit.
      db.configure('busyTimeout', busyTimeoutMs);
      try {
        return await call<unknown[]>((done) => db.all(sql, done));
      } finally {
        db.configure('busyTimeout', 0);
      }
    })();
    const g: Promise<unknown> = run.catch(() => undefined).finally(() => gate === g && (gate = undefined));
    gate = g;
    return run;
  };
  // Checkpoints run off the commit path, on a connection of their own, but for the rare one past the bound.
  const checkpointer = await startCheckpointer(alone, file, busyTimeoutMs, checkpoints);
  /** Runs a write statement; its commit is counted toward the next checkpoint. */
  const write = async <T>(statement: sqlite3.Statement, fn: (done: (err: Error | null, value?: T) => void) => void) => {
    while (gate) await gate;
    inFlight += 1;
    try {
      return await stepWhileBusy<T>(statement, fn, busyTimeoutMs);
    } finally {
      inFlight -= 1;
      if (!inFlight && drained) {
        drained();
        drained = undefined;
      }
      checkpointer.committed();
    }
  };

  const prepare = (sql: string) =>
    call<sqlite3.Statement>((done) => {
      const statement: sqlite3.Statement = db.prepare(sql, (err) => done(err, statement));
    });
  const statements: sqlite3.Statement[] = [];

  /**
   * Writes wait for the one before them; those that arrive meanwhile are stored together by the next, in one
   * statement. An idle table writes at once; under load a commit carries many writes instead of one each.
   */
  interface Batch {
    entries: Map<string, string>;
    done: Promise<void>;
  }

  const table = (name: string): KeyvStoreAdapter => {
    const t = tableName(name);
    let writing: Promise<unknown> = Promise.resolve();
    let queued: Batch | undefined;
    const ready = (async () => {
      await exec(`CREATE TABLE IF NOT EXISTS ${t}(key VARCHAR(255) PRIMARY KEY, value TEXT )`);
      const s = {
        get: await prepare(`SELECT value FROM ${t} WHERE key = ?`),
        // `[[key, value], …]` as one JSON parameter: a batch is one statement, so one commit.
        setMany: await prepare(
          `INSERT INTO ${t} (key, value) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true ` +
            'ON CONFLICT(key) DO UPDATE SET value=excluded.value',
        ),
        delete: await prepare(`DELETE FROM ${t} WHERE key = ?`),
        clear: await prepare(`DELETE FROM ${t}`),
      };
      statements.push(...Object.values(s));
      return s;
    })();
    const adapter = Object.assign(new EventEmitter(), {
      opts: { dialect: 'sqlite', table: t },
      namespace: undefined as string | undefined,
      async get(key: string) {
        const { get } = await ready;
        // `all`, not `get`: a statement left after its first row keeps its read transaction open, and once another
        // connection (the sqlite3 shell, a backup) has written, this connection's next write fails SQLITE_BUSY.
        const rows = await stepWhileBusy<{ value: string }[]>(get, (done) => get.all(key, done), busyTimeoutMs);
        return rows[0]?.value;
      },
      set(key: string, value: string) {
        let batch = queued;
        if (!batch) {
          const b: Batch = { entries: new Map(), done: Promise.resolve() };
          b.done = writing.then(async () => {
            if (queued === b) queued = undefined;
            const { setMany } = await ready;
            return write<void>(setMany, (done) => setMany.run(JSON.stringify([...b.entries]), done));
          });
          writing = b.done.catch(() => undefined);
          batch = queued = b;
        }
        batch.entries.set(key, value);
        return batch.done;
      },
      async delete(key: string) {
        // After the writes already asked for, as if each ran alone.
        await (queued?.done ?? writing).catch(() => undefined);
        const s = await ready;
        return write<boolean>(s.delete, (done) =>
          s.delete.run(key, function (this: sqlite3.RunResult, err: Error | null) {
            done(err, this.changes > 0);
          }),
        );
      },
      async clear() {
        await (queued?.done ?? writing).catch(() => undefined);
        const s = await ready;
        await write<void>(s.clear, (done) => s.clear.run(done));
      },
    });
    // A failed setup surfaces in the first call that awaits it.
    ready.catch(() => undefined);
    return adapter as unknown as KeyvStoreAdapter;
  };

  return {
    table,
    async close() {
      await Promise.allSettled(statements.map((s) => call<void>((done) => s.finalize(done))));
      // First, so the writing connection closes last and folds the WAL into the database as it goes.
      await checkpointer.close();
      await call<void>((done) => db.close(done));
    },
  };
};
