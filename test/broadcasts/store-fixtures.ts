import assert from 'node:assert/strict';
import type { BroadcastStore } from '../../src/broadcasts/store.js';
import type { Broadcast, BroadcastRecipient, RecipientCounts } from '../../src/broadcasts/types.js';

/** Opens a store on the same state every time (one file, one Redis): each test uses its own ids and sessions. */
export type OpenStore = () => Promise<BroadcastStore>;

let n = 0;
export const unique = (tag: string) => `${tag}${Date.now().toString(36)}${(n++).toString(36)}`;
export const at = (second: number) => new Date(Date.UTC(2025, 0, 1, 10, 0, second)).toISOString();

export const aBroadcast = (over: Partial<Broadcast> = {}): Broadcast => {
  const created = at(n);
  return {
    id: unique('b'),
    sessionId: 'shop',
    name: 'offer',
    status: 'running',
    content: { type: 'text', text: 'Hello {{name}}' },
    total: 3,
    createdAt: created,
    updatedAt: created,
    ...over,
  };
};
export const recipientsOf = (b: Broadcast, count = b.total): BroadcastRecipient[] =>
  Array.from({ length: count }, (_, index) => ({
    broadcastId: b.id,
    index,
    to: `49151000${String(index).padStart(5, '0')}@s.whatsapp.net`,
    vars: { name: `n${index}` },
    status: 'pending',
  }));

export const counts = (over: Partial<RecipientCounts> = {}): RecipientCounts => ({
  ...{ pending: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0 },
  ...over,
});
export const ids = (list: { id: string }[]) => list.map((b) => b.id);
export const indexes = (list: BroadcastRecipient[]) => list.map((r) => r.index);
export const sorted = (list: string[]) => [...list].sort();

/** Every recipient, page after page from the last index seen, as the report reads them. */
export const report = async (store: BroadcastStore, id: string, limit = 7) => {
  const out: BroadcastRecipient[] = [];
  for (;;) {
    const page = await store.recipients(id, { from: out.length ? out[out.length - 1].index + 1 : 0, limit });
    if (page.length === 0) return out;
    assert.ok(page.length <= limit);
    out.push(...page);
  }
};
/** Runs a test on a store of its own, closed after. */
export const inStore = (open: OpenStore) => (fn: (store: BroadcastStore) => Promise<void>) => async () => {
  const store = await open();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
};
