import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../src/store/sqlite.ts';
import { openStatements } from '../../src/store/sqlite-statements.ts';

test('writers waiting for another connection’s lock leave the thread pool free, and all land once it is released', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-busy-'));
  const file = path.join(dir, 'store.sqlite');
  try {
    const keyv = await openSqlite(file, { busyTimeoutMs: 10_000 });
    // Another store's connection to the same file (as the broadcast and webhook stores have) takes the write lock.
    const other = await openStatements(file, {
      schema: 'CREATE TABLE IF NOT EXISTS t(x);',
      sql: { insert: 'INSERT INTO t VALUES (?)' },
      busyTimeoutMs: 10_000,
    });
    const tables = Array.from({ length: 8 }, (_, i) => keyv.table(`t${i}`));
    await Promise.all(tables.map((t) => t.set('ready', '1')));
    await other.exec('BEGIN IMMEDIATE');
    const writes = tables.map((t, i) => t.set(`k${i}`, `v${i}`));

    // The pool has 4 threads: with eight writers asleep in SQLite's busy handler, a file operation could not
    // run until the lock was released. It must finish while the lock is still held.
    const freed = await Promise.race([
      stat(dir).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 3000).unref()),
    ]);
    await other.run(other.statements.insert, 1);
    await other.exec('COMMIT');
    await Promise.all(writes);
    assert.ok(freed, 'a file operation waited for the lock to be released: the pool threads were all waiting in SQLite');
    assert.deepEqual(
      await Promise.all(tables.map((t, i) => t.get(`k${i}`))),
      tables.map((_, i) => `v${i}`),
    );
    await other.close();
    await keyv.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
