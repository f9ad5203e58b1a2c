import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createChunkedList, type ChunkedList } from '../../src/store/chunked-list.js';
import { createStoreFactory } from '../../src/store/index.js';

/** `open()` gives a new list on the same SQLite table, as a restarted process would have. */
const withStore = async (run: (open: () => ChunkedList) => Promise<void>) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-chunked-'));
  const stores = await createStoreFactory({ dataDir: dir });
  const store = stores.namespace('list');
  try {
    await run(() => createChunkedList(store));
  } finally {
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  }
};

test('250 ids appended at once across three chunks: every position once, in order, paged newest first, read again by a new instance', () =>
  withStore(async (open) => {
    const list = open();
    const ids = Array.from({ length: 250 }, (_, i) => `id${i}`);
    const positions = await Promise.all(ids.map((id) => list.append('s', id, async (position) => position)));
    assert.deepEqual(
      positions,
      ids.map((_, i) => i),
    );
    assert.equal(await list.count('s'), 250);
    assert.deepEqual(await list.ids('s', 95, 105), ids.slice(95, 105));

    const again = open();
    assert.equal(await again.count('s'), 250);
    const seen: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await again.newest('s', { limit: 60, ...(before !== undefined ? { before } : {}) });
      seen.push(...page.ids);
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
    assert.deepEqual(seen, [...ids].reverse());
    assert.equal(await again.append('s', 'next', async (p) => p), 250);
    assert.deepEqual(await again.ids('s', 249, 251), ['id249', 'next']);
    assert.deepEqual((await again.newest('other', { limit: 10 })).ids, []);
  }));
