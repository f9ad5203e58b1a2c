import path from 'node:path';
import sqlite3 from 'sqlite3';

const call = (fn: (done: (err: Error | null) => void) => void) =>
  new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

/**
 * A disk that refuses some writes, made from a real one: a trigger on every hashsend table of a running server's
 * SQLite file fails the writes whose row matches `when` (SQL over `NEW.key` and `NEW.value`). A write batched with
 * a refused one fails with it, as it would on a full disk. Resolves to a function that lifts the fault.
 */
export const refuseWrites = async (dataDir: string, name: string, when: string): Promise<() => Promise<void>> => {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened: sqlite3.Database = new sqlite3.Database(path.join(dataDir, 'hashsend.sqlite'), (err) =>
      err ? reject(err) : resolve(opened),
    );
  });
  db.configure('busyTimeout', 5000);
  const tables = await new Promise<string[]>((resolve, reject) =>
    db.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'hs_%'`, (err, rows) =>
      err ? reject(err) : resolve(rows.map((r) => r.name)),
    ),
  );
  const triggers = tables.flatMap((t) => ['INSERT', 'UPDATE'].map((op) => ({ t, op, trigger: `fault_${name}_${t}_${op.toLowerCase()}` })));
  for (const { t, op, trigger } of triggers) {
    await call((done) =>
      db.exec(
        `CREATE TRIGGER ${trigger} BEFORE ${op} ON ${t} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected fault: ${name}'); END`,
        done,
      ),
    );
  }
  return async () => {
    for (const { trigger } of triggers) await call((done) => db.exec(`DROP TRIGGER IF EXISTS ${trigger}`, done));
    await call((done) => db.close(done));
  };
};
