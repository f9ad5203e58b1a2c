import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../src/store/sqlite.ts';
import { waitFor } from '../support/server.js';

const FRAME = 4096 + 24;
const walPages = (file: string) => {
  try {
    return Math.ceil(statSync(`${file}-wal`).size / FRAME);
  } catch {
    return 0;
  }
};

/** Resolves once the WAL file is empty: the store gave it back. */
const givenBack = (file: string) => waitFor('the WAL given back', async () => (walPages(file) === 0 ? true : undefined));

/** A value shaped like an outbox message record. */
const record = (i: number) =>
  JSON.stringify({
    id: `3EB0${String(i).padStart(20, '0')}`,
    status: 'sent',
    text: `Offer ${i}: 20 % off everything this week`,
    at: new Date().toISOString(),
  });

test('SQLite: a 5,000-message burst keeps the WAL bounded, an idle store gives it back, every write survives', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-wal-'));
  const file = path.join(dir, 'store.sqlite');
  const hardPages = 300;
  try {
    const db = await openSqlite(file, { busyTimeoutMs: 5000, checkpoints: { everyCommits: 20, hardPages, idleMs: 50 } });
    const messages = db.table('messages');
    const index = db.table('chunks');
    let largest = 0;
    // Two tables written at once, as the outbox does (a record and its index chunk): writes never stop for long.
    for (let i = 0; i < 5000; i++) {
      await Promise.all([messages.set(`msg:${i}`, record(i)), index.set(`idx:${i % 50}`, String(i))]);
      largest = Math.max(largest, walPages(file));
    }
    // Past the bound by at most what commits while the RESTART waits its turn; unbounded it reaches thousands.
    assert.ok(largest <= hardPages * 2, `the WAL reached ${largest} pages`);
    await givenBack(file);
    await db.close();

    const again = await openSqlite(file, { busyTimeoutMs: 5000 });
    assert.equal(JSON.parse((await again.table('messages').get('msg:4999')) as string).id, `3EB0${String(4999).padStart(20, '0')}`);
    assert.equal(await again.table('chunks').get('idx:49'), '4999');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SQLite: a last write whose checkpoint started the WAL over (RESTART) still has the file given back once idle', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-wal-'));
  const file = path.join(dir, 'store.sqlite');
  try {
    // Every commit checkpoints, and the WAL is over its bound at once: the one write is followed by a RESTART.
    const db = await openSqlite(file, { busyTimeoutMs: 5000, checkpoints: { everyCommits: 1, hardPages: 1, idleMs: 50 } });
    await db.table('messages').set('msg:1', record(1));
    await givenBack(file);
    await db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
