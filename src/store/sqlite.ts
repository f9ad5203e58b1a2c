import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter } from 'keyv';
import sqlite3 from 'sqlite3';

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

const call = <T>(fn: (done: (err: Error | null, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

export const openSqlite = async (file: string, { busyTimeoutMs }: { busyTimeoutMs: number }): Promise<SqliteConnection> => {
  const db = await call<sqlite3.Database>((done) => {
    const opened: sqlite3.Database = new sqlite3.Database(file, (err) => done(err, opened));
  });
  db.configure('busyTimeout', busyTimeoutMs);
  const exec = (sql: string) => call<void>((done) => db.exec(sql, done));
  // WAL is kept in the file; `synchronous=NORMAL` is per connection: in WAL mode a commit survives the process
  // crashing or being killed (what the outbox promises); only a power cut can lose the last commits.
  await exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL');

  const prepare = (sql: string) =>
    call<sqlite3.Statement>((done) => {
      const statement: sqlite3.Statement = db.prepare(sql, (err) => done(err, statement));
    });
  const statements: sqlite3.Statement[] = [];

  const table = (name: string): KeyvStoreAdapter => {
    const t = tableName(name);
    const ready = (async () => {
      await exec(`CREATE TABLE IF NOT EXISTS ${t}(key VARCHAR(255) PRIMARY KEY, value TEXT )`);
      const s = {
        get: await prepare(`SELECT value FROM ${t} WHERE key = ?`),
        set: await prepare(`INSERT INTO ${t} (key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`),
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
        const row = await call<{ value: string } | undefined>((done) => get.get(key, done));
        return row?.value;
      },
      async set(key: string, value: string) {
        const { set } = await ready;
        await call<void>((done) => set.run(key, value, done));
      },
      async delete(key: string) {
        const s = await ready;
        return call<boolean>((done) =>
          s.delete.run(key, function (this: sqlite3.RunResult, err: Error | null) {
            done(err, this.changes > 0);
          }),
        );
      },
      async clear() {
        const s = await ready;
        await call<void>((done) => s.clear.run(done));
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
      await call<void>((done) => db.close(done));
    },
  };
};
