import { openStatements } from '../store/sqlite-statements.js';
import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient, BroadcastStatus, RecipientCounts, RecipientStatus } from './types.js';

/**
 * Each row's JSON is the truth; the columns queries filter on are generated from it, so a write is one JSON merge
 * and can never leave a column and the document disagreeing. The file is the one the Keyv store uses (WAL), so a
 * backup of DATA_DIR holds both.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS hs_broadcasts(
  id TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  session_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.sessionId')) STORED,
  status TEXT GENERATED ALWAYS AS (json_extract(data, '$.status')) STORED,
  created_at TEXT GENERATED ALWAYS AS (json_extract(data, '$.createdAt')) STORED
);
CREATE INDEX IF NOT EXISTS hs_broadcasts_session ON hs_broadcasts(session_id, created_at);
CREATE INDEX IF NOT EXISTS hs_broadcasts_status ON hs_broadcasts(status);
CREATE TABLE IF NOT EXISTS hs_broadcast_recipients(
  broadcast_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  data TEXT NOT NULL,
  status TEXT GENERATED ALWAYS AS (json_extract(data, '$.status')) STORED,
  message_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.messageId')) STORED,
  queued_at TEXT GENERATED ALWAYS AS (json_extract(data, '$.queuedAt')) STORED,
  PRIMARY KEY (broadcast_id, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hs_broadcast_recipients_status ON hs_broadcast_recipients(broadcast_id, status, idx);
CREATE INDEX IF NOT EXISTS hs_broadcast_recipients_message ON hs_broadcast_recipients(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS hs_broadcast_recipients_queued ON hs_broadcast_recipients(queued_at) WHERE queued_at IS NOT NULL;
`;

const SQL = {
  insertBroadcast: 'INSERT INTO hs_broadcasts(id, data) VALUES (?, ?)',
  // `[[index, recipient], …]` as one JSON parameter: 10,000 recipients are one statement in one commit.
  insertRecipients:
    'INSERT INTO hs_broadcast_recipients(broadcast_id, idx, data) ' +
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)",
  get: 'SELECT data FROM hs_broadcasts WHERE id = ?',
  list: 'SELECT data FROM hs_broadcasts WHERE session_id = ? AND (?2 IS NULL OR created_at < ?2) ORDER BY created_at DESC, id DESC LIMIT ?3',
  withStatus: 'SELECT data FROM hs_broadcasts WHERE status IN (SELECT value FROM json_each(?)) ORDER BY created_at',
  // RFC 7396 merge: a key given as null is removed, so `pausedReason: undefined` clears it.
  update: 'UPDATE hs_broadcasts SET data = json_patch(data, ?) WHERE id = ?',
  // `[[broadcastId, index, patch], …]`: one statement per batch, so one commit for every update that waited.
  updateRecipients:
    'UPDATE hs_broadcast_recipients AS r SET data = json_patch(r.data, p.patch) FROM (' +
    "SELECT json_extract(value, '$[0]') AS b, json_extract(value, '$[1]') AS i, json_extract(value, '$[2]') AS patch FROM json_each(?)" +
    ') AS p WHERE r.broadcast_id = p.b AND r.idx = p.i',
  pending: "SELECT idx, data FROM hs_broadcast_recipients WHERE broadcast_id = ? AND status = 'pending' ORDER BY idx LIMIT ?",
  recipients: 'SELECT idx, data FROM hs_broadcast_recipients WHERE broadcast_id = ? AND idx >= ? ORDER BY idx LIMIT ?',
  recipientOfMessage: 'SELECT broadcast_id, idx FROM hs_broadcast_recipients WHERE message_id = ? LIMIT 1',
  counts: 'SELECT status, count(*) AS n FROM hs_broadcast_recipients WHERE broadcast_id = ? GROUP BY status',
  queuedSince:
    'SELECT count(*) AS n FROM hs_broadcast_recipients AS r JOIN hs_broadcasts AS b ON b.id = r.broadcast_id ' +
    'WHERE b.session_id = ? AND r.queued_at >= ?',
  removeRecipients: 'DELETE FROM hs_broadcast_recipients WHERE broadcast_id = ?',
  removeBroadcast: 'DELETE FROM hs_broadcasts WHERE id = ?',
} as const;

const STATUSES: RecipientStatus[] = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped'];

/** A patch in merge-patch form: a key present with `undefined` becomes null, which removes it. */
const mergePatch = (patch: object) => JSON.stringify(patch, (_k, v: unknown) => (v === undefined ? null : v));

type RecipientPatch = Partial<Omit<BroadcastRecipient, 'broadcastId' | 'index'>>;

/** The batch of recipient updates that waits for the write before it; later updates of one recipient win. */
interface Batch {
  patches: Map<string, [string, number, RecipientPatch]>;
  done: Promise<void>;
}

export const openSqliteBroadcastStore = async (file: string, { busyTimeoutMs = 5000 } = {}): Promise<BroadcastStore> => {
  const { statements: s, run, all, exec, close } = await openStatements(file, { schema: SCHEMA, sql: SQL, busyTimeoutMs });

  /** Writes run one after another on this connection, so a transaction never takes in another caller's write. */
  let writing: Promise<unknown> = Promise.resolve();
  const serially = <T>(write: () => Promise<T>): Promise<T> => {
    const result = writing.then(write);
    writing = result.catch(() => undefined);
    return result;
  };
  let queued: Batch | undefined;
  const transaction = (steps: () => Promise<void>) =>
    serially(async () => {
      await exec('BEGIN IMMEDIATE');
      try {
        await steps();
        await exec('COMMIT');
      } catch (err) {
        await exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });

  const recipientOf = (broadcastId: string, row: { idx: number; data: string }): BroadcastRecipient => ({
    broadcastId,
    index: row.idx,
    ...(JSON.parse(row.data) as Omit<BroadcastRecipient, 'broadcastId' | 'index'>),
  });
  const broadcasts = (rows: { data: string }[]) => rows.map((r) => JSON.parse(r.data) as Broadcast);

  return {
    create: (broadcast, recipients) =>
      transaction(async () => {
        const rows = recipients.map(({ broadcastId: _b, index, ...rest }) => [index, rest]);
        await run(s.insertBroadcast, broadcast.id, JSON.stringify(broadcast));
        await run(s.insertRecipients, broadcast.id, JSON.stringify(rows));
      }),

    get: async (id) => broadcasts(await all(s.get, id))[0],
    list: async (sessionId, { limit, before }) => broadcasts(await all(s.list, sessionId, before ?? null, limit)),
    withStatus: async (statuses: BroadcastStatus[]) => broadcasts(await all(s.withStatus, JSON.stringify(statuses))),
    update: async (id, patch) => {
      await serially(() => run(s.update, mergePatch(patch), id));
    },

    updateRecipient(broadcastId, index, patch) {
      let batch = queued;
      if (!batch) {
        const b: Batch = { patches: new Map(), done: Promise.resolve() };
        b.done = serially(async () => {
          if (queued === b) queued = undefined;
          const rows = [...b.patches.values()].map(([id, i, p]) => `[${JSON.stringify(id)},${i},${mergePatch(p)}]`);
          await run(s.updateRecipients, `[${rows.join(',')}]`);
        });
        batch = queued = b;
      }
      const key = `${broadcastId}\u0000${index}`;
      const earlier = batch.patches.get(key);
      batch.patches.set(key, [broadcastId, index, earlier ? { ...earlier[2], ...patch } : patch]);
      return batch.done;
    },

    pending: async (broadcastId, limit) =>
      (await all<{ idx: number; data: string }>(s.pending, broadcastId, limit)).map((r) => recipientOf(broadcastId, r)),
    recipients: async (broadcastId, { from, limit }) =>
      (await all<{ idx: number; data: string }>(s.recipients, broadcastId, from, limit)).map((r) => recipientOf(broadcastId, r)),
    async recipientOfMessage(messageId) {
      const [row] = await all<{ broadcast_id: string; idx: number }>(s.recipientOfMessage, messageId);
      return row && { broadcastId: row.broadcast_id, index: row.idx };
    },
    async counts(broadcastId) {
      const counts = Object.fromEntries(STATUSES.map((st) => [st, 0])) as RecipientCounts;
      for (const { status, n } of await all<{ status: RecipientStatus; n: number }>(s.counts, broadcastId)) counts[status] = n;
      return counts;
    },
    queuedSince: async (sessionId, since) => (await all<{ n: number }>(s.queuedSince, sessionId, since))[0]?.n ?? 0,

    remove: (broadcastId) =>
      transaction(async () => {
        await run(s.removeRecipients, broadcastId);
        await run(s.removeBroadcast, broadcastId);
      }),

    async close() {
      await writing;
      await close();
    },
  };
};
