import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferJSON } from '@whiskeysockets/baileys';
import { createLogger } from '../../../src/log.js';
import { CREDS_FILE, openAuthStore } from '../../../src/whatsapp/baileys/auth-store.js';
import { NeedsRelinkError } from '../../../src/whatsapp/baileys/needs-relink-error.js';

const log = createLogger('silent');

const withDir = async (fn: (dir: string) => Promise<void>) => {
  const root = await mkdtemp(join(tmpdir(), 'hashsend-auth-'));
  try {
    await fn(join(root, 'sessions', 'default'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
};

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('a new folder gives fresh, unlinked credentials; folder 0700, files 0600', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    assert.equal(store.isLinked(), false);
    assert.equal(await mode(dir), 0o700);
    await store.saveCreds();
    await store.state.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) } } });
    const files = await readdir(dir);
    assert.deepEqual(files.sort(), [CREDS_FILE, 'pre-key-1.json']);
    for (const f of files) assert.equal(await mode(join(dir, f)), 0o600, f);
  }));

test('credentials round-trip through BufferJSON, Buffers included, and linked follows creds.account', () =>
  withDir(async (dir) => {
    const first = await openAuthStore({ dir, log });
    first.state.creds.account = {
      details: Buffer.from('details'),
      accountSignatureKey: Buffer.alloc(32, 7),
      accountSignature: Buffer.alloc(64, 8),
      deviceSignature: Buffer.alloc(64, 9),
    };
    first.state.creds.me = { id: '4915123456789:3@s.whatsapp.net', name: 'Shop' };
    await first.saveCreds();
    const session = Buffer.from([0, 1, 2, 250, 255]);
    await first.state.keys.set({ session: { '4915123456789.0': session } });

    const again = await openAuthStore({ dir, log });
    assert.equal(again.isLinked(), true);
    assert.deepEqual(again.state.creds.me, first.state.creds.me);
    assert.ok(Buffer.isBuffer(again.state.creds.noiseKey.private));
    assert.ok(again.state.creds.noiseKey.private.equals(Buffer.from(first.state.creds.noiseKey.private)));
    assert.ok(Buffer.from(again.state.creds.account!.accountSignatureKey!).equals(Buffer.alloc(32, 7)));
    const got = await again.state.keys.get('session', ['4915123456789.0', 'absent']);
    assert.ok(Buffer.from(got['4915123456789.0']).equals(session));
    assert.equal('absent' in got, false);

    const raw = JSON.parse(await readFile(join(dir, CREDS_FILE), 'utf8'), BufferJSON.reviver);
    assert.ok(Buffer.isBuffer(raw.signedIdentityKey.public));
  }));

test('a key set to null removes its file', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.state.keys.set({ 'sender-key': { 'g@g.us::a::0': Buffer.from('k') } });
    assert.equal((await readdir(dir)).length, 1);
    await store.state.keys.set({ 'sender-key': { 'g@g.us::a::0': null } });
    assert.deepEqual(await readdir(dir), []);
  }));

test('key ids cannot reach outside the folder', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.state.keys.set({ session: { '../../escape': Buffer.from('x') } });
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    assert.ok(!files[0].includes('/'));
    assert.deepEqual((await readdir(join(dir, '..'))).sort(), ['default']);
  }));

test('a corrupt creds file is a NeedsRelinkError, never a fresh login', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.saveCreds();
    const before = await readFile(join(dir, CREDS_FILE), 'utf8');
    await writeFile(join(dir, CREDS_FILE), before.slice(0, before.length / 2));
    await assert.rejects(openAuthStore({ dir, log }), (e: unknown) => e instanceof NeedsRelinkError && e.reason === 'creds_corrupt');
    await writeFile(join(dir, CREDS_FILE), '{"hello":"world"}');
    await assert.rejects(openAuthStore({ dir, log }), (e: unknown) => e instanceof NeedsRelinkError && e.reason === 'creds_corrupt');
    // Nothing was reset: the damaged file is still there for the operator to look at.
    assert.equal(await readFile(join(dir, CREDS_FILE), 'utf8'), '{"hello":"world"}');
  }));

test('an unreadable creds file is a NeedsRelinkError', () =>
  withDir(async (dir) => {
    await mkdir(dir, { recursive: true });
    // A folder where the file should be fails to read on every platform and for every user, root included.
    await mkdir(join(dir, CREDS_FILE));
    await assert.rejects(openAuthStore({ dir, log }), (e: unknown) => e instanceof NeedsRelinkError && e.reason === 'creds_unreadable');
  }));

test('missing creds beside key files is a NeedsRelinkError; with no key files it is a fresh login', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.saveCreds();
    await store.state.keys.set({ 'pre-key': { '5': { public: Buffer.alloc(32), private: Buffer.alloc(32) } } });
    await rm(join(dir, CREDS_FILE));
    await assert.rejects(openAuthStore({ dir, log }), (e: unknown) => e instanceof NeedsRelinkError && e.reason === 'creds_missing');
    await rm(join(dir, 'pre-key-5.json'));
    const fresh = await openAuthStore({ dir, log });
    assert.equal(fresh.isLinked(), false);
  }));

test('concurrent saves do not interleave: the file always parses and ends with the newest credentials', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.saveCreds();
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      // Large enough that an interleaved or partial write could not parse.
      store.state.creds.processedHistoryMessages = Array.from({ length: 200 }, (_, j) => ({
        key: { id: `m${i}-${j}`, remoteJid: 'x@s.whatsapp.net' },
        messageTimestamp: i,
      }));
      store.state.creds.nextPreKeyId = i;
      saves.push(store.saveCreds());
      // Read while saves are in flight: an atomic replace means whatever is there always parses.
      if (i % 5 === 0) JSON.parse(await readFile(join(dir, CREDS_FILE), 'utf8'));
    }
    await Promise.all(saves);
    const onDisk = JSON.parse(await readFile(join(dir, CREDS_FILE), 'utf8'), BufferJSON.reviver);
    assert.equal(onDisk.nextPreKeyId, 39);
    assert.equal(onDisk.processedHistoryMessages[199].key.id, 'm39-199');
    assert.deepEqual(await readdir(dir), [CREDS_FILE], 'no temp files left behind');
  }));

test('temp files left by a crash are removed on open and do not count as keys', () =>
  withDir(async (dir) => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '.creds.json.abc123.tmp'), '{"half":');
    const store = await openAuthStore({ dir, log });
    assert.equal(store.isLinked(), false);
    assert.deepEqual(await readdir(dir), []);
  }));

test('wipe removes the folder, and writes after it are dropped', () =>
  withDir(async (dir) => {
    const store = await openAuthStore({ dir, log });
    await store.saveCreds();
    const pending = store.saveCreds();
    await store.wipe();
    await pending;
    await store.saveCreds();
    await assert.rejects(stat(dir), { code: 'ENOENT' });
  }));
