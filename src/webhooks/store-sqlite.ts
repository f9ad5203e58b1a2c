import { openStatements } from '../store/sqlite-statements.js';
import { deliveryWrites } from './delivery-writes.js';
import type { WebhookStore } from './store.js';
import type { DeliveryStatus, StoredDelivery, WebhookDelivery, WebhookEndpoint } from './types.js';

/** The time in epoch ms, inside SQLite. */
const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/**
 * As in the broadcast store, each row's JSON is the truth and the filtered columns are generated from it. The
 * body (sent byte for byte by every attempt) has a column of its own, so patches never rewrite it; `next_at`
 * (epoch ms) is set only on the oldest pending delivery of each endpoint and key: what may be attempted. The
 * insert decides it for each row (the batch says which rows follow one of their key in the same batch, the table
 * says whether one is pending already), and a trigger makes the next one due, in the update's own statement, when
 * the one before it is delivered or dead. Every write is one statement (its own commit): a transaction held
 * across statements would keep the write lock while the thread pool, where other connections' writes wait for
 * that lock, has no thread left to commit it.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS hs_webhook_endpoints(id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hs_webhook_deliveries(
  seq INTEGER PRIMARY KEY,
  data TEXT NOT NULL,
  body TEXT NOT NULL,
  next_at INTEGER,
  id TEXT GENERATED ALWAYS AS (json_extract(data, '$.id')) STORED,
  endpoint_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.endpointId')) STORED,
  status TEXT GENERATED ALWAYS AS (json_extract(data, '$.status')) STORED,
  okey TEXT GENERATED ALWAYS AS (json_extract(data, '$.orderingKey')) STORED
);
CREATE UNIQUE INDEX IF NOT EXISTS hs_webhook_deliveries_id ON hs_webhook_deliveries(id);
CREATE INDEX IF NOT EXISTS hs_webhook_deliveries_list ON hs_webhook_deliveries(endpoint_id, seq);
CREATE INDEX IF NOT EXISTS hs_webhook_deliveries_status ON hs_webhook_deliveries(endpoint_id, status, seq);
CREATE INDEX IF NOT EXISTS hs_webhook_deliveries_key ON hs_webhook_deliveries(endpoint_id, okey, status, seq);
DROP INDEX IF EXISTS hs_webhook_deliveries_due;
CREATE INDEX IF NOT EXISTS hs_webhook_deliveries_dead ON hs_webhook_deliveries(seq) WHERE status = 'dead';
DROP TRIGGER IF EXISTS hs_webhook_deliveries_behind;
CREATE TRIGGER IF NOT EXISTS hs_webhook_deliveries_next AFTER UPDATE OF data ON hs_webhook_deliveries
WHEN OLD.status = 'pending' AND NEW.status != 'pending'
BEGIN UPDATE hs_webhook_deliveries SET next_at = ${NOW_MS} WHERE next_at IS NULL AND seq = (SELECT min(x.seq)
  FROM hs_webhook_deliveries AS x WHERE x.endpoint_id = NEW.endpoint_id AND x.okey = NEW.okey AND x.status = 'pending'); END;
`;

const D = 'hs_webhook_deliveries';
const SQL = {
  endpoints: "SELECT data FROM hs_webhook_endpoints ORDER BY json_extract(data, '$.createdAt'), id",
  putEndpoint: 'INSERT INTO hs_webhook_endpoints(id, data) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data = excluded.data',
  removeEndpoint: 'DELETE FROM hs_webhook_endpoints WHERE id = ?',
  removeDeliveries: `DELETE FROM ${D} WHERE endpoint_id = ?`,
  // `[[data, body, first], …]` as one JSON parameter: a batch is one statement, rows numbered in the order given.
  // `first`: no row before it in the batch has its endpoint and key; then it is due unless one is pending already.
  insert:
    `INSERT INTO ${D}(data, body, next_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ` +
    `CASE WHEN json_extract(value, '$[2]') AND NOT EXISTS (SELECT 1 FROM ${D} AS x WHERE ` +
    "x.endpoint_id = json_extract(value, '$[0].endpointId') AND x.okey = json_extract(value, '$[0].orderingKey') " +
    `AND x.status = 'pending') THEN ${NOW_MS} END FROM json_each(?) ORDER BY key RETURNING seq, id`,
  // `[[seq, patch, nextAt], …]`: RFC 7396 merge, so a key given as null is removed.
  update:
    `UPDATE ${D} AS d SET data = json_patch(d.data, p.patch), next_at = p.next FROM (` +
    "SELECT json_extract(value, '$[0]') AS s, json_extract(value, '$[1]') AS patch, json_extract(value, '$[2]') AS next FROM json_each(?)" +
    ') AS p WHERE d.seq = p.s',
  pending: `SELECT seq, next_at, data, body FROM ${D} WHERE endpoint_id = ?1 AND status = 'pending' AND seq > ?2 ORDER BY seq LIMIT ?3`,
  get: `SELECT seq, next_at, data, body FROM ${D} WHERE id = ? AND endpoint_id = ?`,
  list: `SELECT seq, next_at, data FROM ${D} WHERE endpoint_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3`,
  listStatus: `SELECT seq, next_at, data FROM ${D} WHERE endpoint_id = ?1 AND status = ?4 AND seq < ?2 ORDER BY seq DESC LIMIT ?3`,
  dead: `SELECT seq, next_at, data FROM ${D} WHERE status = 'dead' AND seq < ?1 ORDER BY seq DESC LIMIT ?2`,
  requeueOne: `UPDATE ${D} SET data = json_patch(data, ?1), next_at = ?2 WHERE endpoint_id = ?3 AND id = ?4 AND status != 'pending'`,
  requeueStatus: `UPDATE ${D} SET data = json_patch(data, ?1), next_at = ?2 WHERE endpoint_id = ?3 AND status = ?4 AND status != 'pending'`,
  resume: `UPDATE ${D} SET data = json_remove(data, '$.firstAttemptAt'), next_at = ?2 WHERE endpoint_id = ?1 AND next_at IS NOT NULL`,
  counts: `SELECT endpoint_id, status, count(*) AS n FROM ${D} GROUP BY endpoint_id, status`,
  // Oldest first, in rows numbered as they were stored: the scan stops once it has found `?2`.
  prune:
    `DELETE FROM ${D} WHERE seq IN (SELECT seq FROM ${D} WHERE status = 'delivered' ` +
    "AND json_extract(data, '$.createdAt') < ?1 ORDER BY seq LIMIT ?2)",
} as const;

/** A patch in merge-patch form: a key present with `undefined` becomes null, which removes it. */
const mergePatch = (patch: object) => JSON.stringify(patch, (_k, v: unknown) => (v === undefined ? null : v));
const REQUEUE = mergePatch({ status: 'pending', firstAttemptAt: undefined, deliveredAt: undefined });

/** WAL pages past which a commit of this connection checkpoints after all (40 MB at 4 KiB pages). */
const AUTOCHECKPOINT_PAGES = 10_000;
/** Least time from the end of one write batch to the start of the next; an idle store writes at once. */
const WRITE_GAP_MS = 5;

type Row = { seq: number; next_at: number | null; data: string; body?: string };
const deliveryOf = ({ seq, next_at, data, body }: Row): StoredDelivery => ({
  ...(JSON.parse(data) as Omit<WebhookDelivery, 'body'>),
  body: body ?? '',
  seq,
  ...(next_at === null ? {} : { nextAttemptAt: new Date(next_at).toISOString() }),
});

export const openSqliteWebhookStore = async (file: string, { busyTimeoutMs = 5000 } = {}): Promise<WebhookStore> => {
  const { statements: s, run, all, exec, close } = await openStatements(file, { schema: SCHEMA, sql: SQL, busyTimeoutMs });
  // SQLite's automatic checkpoint would run inside this connection's commits (fsync included) every 1,000 pages of
  // WAL, which webhook bodies fill fast: the file's own checkpointer (src/store/checkpointer.ts) copies them off the
  // commit path instead. This bound only keeps the WAL from growing without end if nothing else writes the file.
  await exec(`PRAGMA wal_autocheckpoint=${AUTOCHECKPOINT_PAGES}`);

  /** Everything on this connection runs one after another, in the order asked for. */
  let chain: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = chain.then(work);
    chain = result.catch(() => undefined);
    return result;
  };

  const writes = deliveryWrites(
    (inserts, updates) =>
      serially(async () => {
        const stored: [string, number][] = [];
        if (inserts.length) {
          const keys = new Set<string>();
          const rows = await all<{ seq: number; id: string }>(
            s.insert,
            JSON.stringify(
              inserts.map(({ body, ...rest }) => {
                const key = JSON.stringify([rest.endpointId, rest.orderingKey]);
                const first = !keys.has(key);
                keys.add(key);
                return [rest, body, first];
              }),
            ),
          );
          for (const r of rows) stored.push([r.id, r.seq]);
        }
        if (updates.length) {
          await run(s.update, `[${updates.map((u) => `[${u.seq},${mergePatch(u.patch)},${u.nextAttemptAt}]`).join(',')}]`);
        }
        return stored;
      }),
    // Under load, batches would come back to back, this connection holding the file's write lock most of the time
    // while the outbox's and the broadcasts' writers back off from it: the gap leaves them room and fills batches.
    { gapMs: WRITE_GAP_MS },
  );

  return {
    endpoints: async () => (await serially(() => all<{ data: string }>(s.endpoints))).map((r) => JSON.parse(r.data) as WebhookEndpoint),
    putEndpoint: (endpoint) => serially(() => run(s.putEndpoint, endpoint.id, JSON.stringify(endpoint))).then(() => undefined),
    // Deliveries first: a crash between the two leaves an endpoint without history, never history without one.
    removeEndpoint: (id) =>
      serially(async () => {
        await run(s.removeDeliveries, id);
        await run(s.removeEndpoint, id);
      }),
    addDelivery: writes.addDelivery,
    updateDelivery: writes.updateDelivery,
    pending: async (endpointId, { after, limit }) => (await serially(() => all<Row>(s.pending, endpointId, after, limit))).map(deliveryOf),
    async getDelivery(endpointId, id) {
      const [row] = await serially(() => all<Row>(s.get, id, endpointId));
      return row && deliveryOf(row);
    },
    listDeliveries: async (endpointId, { status, limit, before }) => {
      const params = [endpointId, before ?? Number.MAX_SAFE_INTEGER, limit];
      const rows = await serially(() => (status ? all<Row>(s.listStatus, ...params, status) : all<Row>(s.list, ...params)));
      return rows.map(deliveryOf);
    },
    deadLetters: async ({ limit, before }) =>
      (await serially(() => all<Row>(s.dead, before ?? Number.MAX_SAFE_INTEGER, limit))).map(deliveryOf),
    requeue: (endpointId, which, now) =>
      serially(() =>
        'id' in which
          ? run(s.requeueOne, REQUEUE, now, endpointId, which.id)
          : run(s.requeueStatus, REQUEUE, now, endpointId, which.status),
      ),
    resume: (endpointId, now) => serially(() => run(s.resume, endpointId, now)).then(() => undefined),
    prune: (before, limit) => serially(() => run(s.prune, before, limit)),
    counts: async () =>
      (await serially(() => all<{ endpoint_id: string; status: DeliveryStatus; n: number }>(s.counts))).map((r) => ({
        endpointId: r.endpoint_id,
        status: r.status,
        count: r.n,
      })),
    async close() {
      await writes.settled();
      await chain;
      await close();
    },
  };
};
