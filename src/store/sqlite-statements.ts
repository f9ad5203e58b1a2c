import { setTimeout as delay } from 'node:timers/promises';
import sqlite3 from 'sqlite3';

type Callback<T> = (err: Error | null, value?: T) => void;

/** node-sqlite3's callback API as a promise. */
export const call = <T>(fn: (done: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

const isBusy = (err: unknown) => (err as { code?: string }).code === 'SQLITE_BUSY';

/**
 * Runs `attempt` again while SQLite answers SQLITE_BUSY (another connection holds the write lock), waiting here
 * between tries, up to `deadlineMs`. SQLite's own busy handler would wait instead by sleeping inside the libuv pool
 * thread running the statement: a few connections' writers waiting that way take every pool thread, and the
 * connection holding the lock then has no thread to commit on, so all of them wait out the whole timeout.
 */
const retryWhileBusy = async <T>(attempt: () => Promise<T>, deadlineMs: number): Promise<T> => {
  const until = Date.now() + deadlineMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() + wait > until) throw err;
      await delay(wait);
    }
  }
};

/**
 * Runs a prepared statement while busy (`retryWhileBusy`). One that fails busy is reset before it runs again:
 * node-sqlite3 leaves it as it stopped, holding the connection's read transaction, and the connection's next writes
 * would join that transaction and be lost with it while each of them reported success.
 */
export const stepWhileBusy = <T>(statement: sqlite3.Statement, fn: (done: Callback<T>) => void, deadlineMs: number) =>
  retryWhileBusy(
    () =>
      call<T>(fn).catch(async (err: unknown) => {
        if (isBusy(err)) await call<void>((done) => statement.reset(() => done(null)));
        throw err;
      }),
    deadlineMs,
  );

/** `db.exec` while busy (`retryWhileBusy`). */
export const execWhileBusy = (db: sqlite3.Database, sql: string, deadlineMs: number) =>
  retryWhileBusy(() => call<void>((done) => db.exec(sql, done)), deadlineMs);

/** Opens `file` with no busy timeout in SQLite (node-sqlite3 sets 1 s by default): every wait is retryWhileBusy's. */
export const openConnection = async (file: string) => {
  const db = await call<sqlite3.Database>((done) => {
    const opened: sqlite3.Database = new sqlite3.Database(file, (err) => done(err, opened));
  });
  db.configure('busyTimeout', 0);
  return db;
};

/**
 * One connection to the SQLite file of the stores that query it directly (broadcasts, webhooks), in WAL mode with
 * its statements prepared once. No busy timeout in SQLite: every call retries while busy (`retryWhileBusy`).
 */
export const openStatements = async <K extends string>(
  file: string,
  { schema, sql, busyTimeoutMs }: { schema: string; sql: Record<K, string>; busyTimeoutMs: number },
) => {
  const db = await openConnection(file);
  await execWhileBusy(db, 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;' + schema, busyTimeoutMs);
  const prepared = await Promise.all(
    (Object.entries(sql) as [K, string][]).map(([name, text]) =>
      call<[K, sqlite3.Statement]>((done) => {
        const s: sqlite3.Statement = db.prepare(text, (err) => done(err, [name, s]));
      }),
    ),
  );
  const statements = Object.fromEntries(prepared) as Record<K, sqlite3.Statement>;
  return {
    statements,
    /** Resolves with the number of rows changed. */
    run: (statement: sqlite3.Statement, ...params: unknown[]) =>
      stepWhileBusy<number>(
        statement,
        (done) =>
          statement.run(...params, function (this: sqlite3.RunResult, err: Error | null) {
            done(err, err ? 0 : this.changes);
          }),
        busyTimeoutMs,
      ),
    // `all`, not `get`: a statement left open after its first row would hold a read transaction (see sqlite.ts).
    all: <T>(statement: sqlite3.Statement, ...params: unknown[]) =>
      stepWhileBusy<T[]>(statement, (done) => statement.all(...params, done), busyTimeoutMs),
    exec: (text: string) => execWhileBusy(db, text, busyTimeoutMs),
    async close() {
      await Promise.allSettled(Object.values<sqlite3.Statement>(statements).map((st) => call<void>((done) => st.finalize(done))));
      await call<void>((done) => db.close(done));
    },
  };
};
