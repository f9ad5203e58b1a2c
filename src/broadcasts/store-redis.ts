import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient, BroadcastStatus, RecipientCounts, RecipientStatus } from './types.js';
import * as scripts from './store-redis-scripts.js';
import { writeBatch } from './write-batch.js';
import { evalScript } from '../lib/redis-script.js';
import { openRedisStoreClient } from '../lib/redis-open.js';

/*
 * Keys, under PREFIX:
 *   b:{id}              hash: the broadcast, one field per property, each JSON
 *   b:{id}:to           hash: index → {to, vars} JSON, written once
 *   b:{id}:st           hash: index → the rest of the recipient (status, messageId, times…) JSON
 *   b:{id}:i            sorted set: every index (score = index), for the report's pages
 *   b:{id}:z:{status}   sorted set: the indexes in that status; `pending` reads its head, `counts` their sizes
 *   status:{status}     set: broadcast ids in that status
 *   session:{sid}       sorted set: the session's broadcast ids by createdAt (ms)
 *   queued:{sid}        sorted set: `{id}:{index}` by queuedAt (ms), for the daily cap
 *   msg                 hash: messageId → `{id}:{index}`
 */
const PREFIX = 'hs:bc:';

const RECIPIENT_STATUSES: RecipientStatus[] = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped'];
const BROADCAST_STATUSES: BroadcastStatus[] = ['scheduled', 'running', 'paused', 'completed', 'cancelled'];

type Patch = Record<string, unknown>;

/** Splits a patch into what to set and what to clear: a property given as undefined (or null) is removed. */
const splitPatch = (patch: Patch, fixed: string[]) => {
  const set: Patch = {};
  const unset: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (fixed.includes(key)) continue;
    if (value === undefined || value === null) unset.push(key);
    else set[key] = value;
  }
  return { set, unset };
};

const millis = (iso: unknown, what: string) => {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (Number.isNaN(ms)) throw new TypeError(`${what} is not a time: ${String(iso)}`);
  return ms;
};

const checkStatus = <S extends string>(status: unknown, allowed: S[], what: string): S => {
  if (!allowed.includes(status as S)) throw new TypeError(`${what} is not one of ${allowed.join(', ')}: ${String(status)}`);
  return status as S;
};

/**
 * Redis' Lua JSON decoder refuses a lone UTF-16 surrogate (JSON.stringify writes it as `\ud800`), and the scripts
 * decode recipients: such a character (a cut-off emoji in an error message) becomes U+FFFD.
 */
const safeJson = (value: unknown) =>
  JSON.stringify(value, (_key, value: unknown) => (typeof value === 'string' ? value.replace(/\p{Cs}/gu, '\uFFFD') : value));

const RECIPIENT_FIXED = ['broadcastId', 'index'];
const recipientParts = (r: BroadcastRecipient) => {
  const { broadcastId: _b, index: _i, to, vars, ...state } = r;
  return { identity: safeJson({ to, vars }), state: splitPatch(state, RECIPIENT_FIXED).set };
};

const checkIndexes = (recipients: BroadcastRecipient[]) => {
  const seen = new Set<number>();
  for (const { index } of recipients) {
    if (!Number.isSafeInteger(index) || index < 0) throw new TypeError(`recipient index is not a whole number ≥ 0: ${index}`);
    if (seen.has(index)) throw new TypeError(`recipient index ${index} appears twice`);
    seen.add(index);
  }
};

type Reply = unknown;

export const openRedisBroadcastStore = async (url: string): Promise<BroadcastStore> => {
  const client = await openRedisStoreClient(url, 'broadcasts', 5000);

  const run = (script: string, keys: string[], args: (string | number)[]): Promise<Reply> => evalScript(client, script, keys, args);

  // The broadcast's own flow updates each recipient several times (queued, sent, delivered…): under load, one
  // script call carries every update that waited for the previous call.
  const recipientUpdates = writeBatch<string[]>((updates) => run(scripts.UPDATE_RECIPIENTS, [], [PREFIX, ...updates.flat()]));

  const bkey = (id: string) => `${PREFIX}b:${id}`;
  const parseBroadcast = (fields: Record<string, string>): Broadcast | undefined => {
    const entries = Object.entries(fields);
    if (entries.length === 0) return undefined;
    return Object.fromEntries(entries.map(([k, v]) => [k, JSON.parse(v)])) as Broadcast;
  };
  const getMany = async (ids: string[]) => {
    const found = await Promise.all(ids.map((id) => client.hGetAll(bkey(id))));
    // An id read from an index may have been removed since: it is simply gone.
    return found.map((f) => parseBroadcast(f)).filter((b): b is Broadcast => b !== undefined);
  };

  const readRecipients = async (broadcastId: string, index: string, min: string, limit: number) => {
    if (limit <= 0) return [];
    const b = bkey(broadcastId);
    const [indexes, identities, states] = (await run(scripts.READ_RECIPIENTS, [`${b}:${index}`, `${b}:to`, `${b}:st`], [min, limit])) as [
      string[],
      (string | null)[],
      (string | null)[],
    ];
    return indexes.flatMap((i, n): BroadcastRecipient[] => {
      const identity = identities[n];
      const state = states[n];
      if (identity == null || state == null) return [];
      return [{ broadcastId, index: Number(i), ...JSON.parse(identity), ...JSON.parse(state) }];
    });
  };

  return {
    async create(broadcast, recipients) {
      checkStatus(broadcast.status, BROADCAST_STATUSES, 'broadcast status');
      checkIndexes(recipients);
      const fields = Object.entries(broadcast).flatMap(([k, v]) => (v === undefined || v === null ? [] : [k, JSON.stringify(v)]));
      const args: (string | number)[] = [
        PREFIX,
        broadcast.id,
        broadcast.sessionId,
        broadcast.status,
        millis(broadcast.createdAt, 'createdAt'),
      ];
      args.push(fields.length, ...fields);
      for (const r of recipients) {
        const { identity, state } = recipientParts(r);
        const status = checkStatus(r.status, RECIPIENT_STATUSES, 'recipient status');
        const queued = r.queuedAt === undefined ? '' : millis(r.queuedAt, 'queuedAt');
        args.push(r.index, identity, safeJson({ ...state, status }), status, r.messageId ?? '', queued);
      }
      await run(scripts.CREATE, [bkey(broadcast.id)], args);
    },

    async get(id) {
      return parseBroadcast(await client.hGetAll(bkey(id)));
    },

    async list(sessionId, { limit, before }) {
      if (limit <= 0) return [];
      const max = before === undefined ? '+inf' : `(${millis(before, 'before')}`;
      const ids = await client.zRange(`${PREFIX}session:${sessionId}`, max, '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset: 0, count: limit },
      });
      return getMany(ids);
    },

    async withStatus(statuses) {
      if (statuses.length === 0) return [];
      const ids = await client.sUnion(statuses.map((s) => `${PREFIX}status:${checkStatus(s, BROADCAST_STATUSES, 'broadcast status')}`));
      const found = await getMany(ids);
      return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },

    async update(id, patch) {
      const { set, unset } = splitPatch(patch, ['id', 'sessionId']);
      const status = set.status === undefined ? '' : checkStatus(set.status, BROADCAST_STATUSES, 'broadcast status');
      const created = set.createdAt === undefined ? '' : millis(set.createdAt, 'createdAt');
      const fields = Object.entries(set).flatMap(([k, v]) => [k, JSON.stringify(v)]);
      await run(scripts.UPDATE, [bkey(id)], [PREFIX, id, status, created, fields.length, ...fields, ...unset]);
    },

    async updateRecipient(broadcastId, index, patch) {
      const { set, unset } = splitPatch(patch, RECIPIENT_FIXED);
      const { to, vars, ...state } = set;
      if (state.status !== undefined) checkStatus(state.status, RECIPIENT_STATUSES, 'recipient status');
      const queued = state.queuedAt === undefined ? '' : String(millis(state.queuedAt, 'queuedAt'));
      const who = to === undefined && vars === undefined ? '{}' : safeJson({ to, vars });
      // A recipient always has a status and an address: clearing either is ignored.
      const clear = unset.filter((k) => !['status', 'to', 'vars'].includes(k) && /^\w+$/.test(k));
      const dropVars = unset.includes('vars') ? '1' : '';
      return recipientUpdates.add([broadcastId, String(index), safeJson(state), who, dropVars, queued, clear.join(',')]);
    },

    pending: (broadcastId, limit) => readRecipients(broadcastId, 'z:pending', '-inf', limit),

    recipients: (broadcastId, { from, limit }) => readRecipients(broadcastId, 'i', String(from), limit),

    async recipientOfMessage(messageId) {
      const member = await client.hGet(`${PREFIX}msg`, messageId);
      if (member == null) return undefined;
      const cut = member.lastIndexOf(':');
      return { broadcastId: member.slice(0, cut), index: Number(member.slice(cut + 1)) };
    },

    async counts(broadcastId) {
      const b = bkey(broadcastId);
      const sizes = (await run(
        scripts.COUNTS,
        RECIPIENT_STATUSES.map((s) => `${b}:z:${s}`),
        [],
      )) as number[];
      return Object.fromEntries(RECIPIENT_STATUSES.map((s, i) => [s, sizes[i]])) as RecipientCounts;
    },

    async queuedSince(sessionId, since) {
      return client.zCount(`${PREFIX}queued:${sessionId}`, millis(since, 'since'), '+inf');
    },

    async remove(broadcastId) {
      await run(scripts.REMOVE, [bkey(broadcastId)], [PREFIX, broadcastId, ...RECIPIENT_STATUSES]);
    },

    async close() {
      await recipientUpdates.settled();
      await client.close();
    },
  };
};
