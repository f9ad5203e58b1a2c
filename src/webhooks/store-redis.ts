import { setTimeout as delay } from 'node:timers/promises';
import { evalScript } from '../lib/redis-script.js';
import { deliveryWrites } from './delivery-writes.js';
import * as scripts from './store-redis-scripts.js';
import type { WebhookStore } from './store.js';
import type { DeliveryStatus, StoredDelivery, WebhookDelivery, WebhookEndpoint } from './types.js';
import { openRedisStoreClient } from '../lib/redis-open.js';

/*
 * Keys, under PREFIX:
 *   endpoints         hash: endpoint id → the endpoint's JSON
 *   seq               counter: the last seq handed out (one order for every node's deliveries)
 *   d:{seq}           hash: the delivery, one field per property (each JSON), and raw copies the scripts read:
 *                     _i id, _e endpoint id, _k ordering key, _s status, _c createdAt (ms), _b the body
 *   e:{eid}:all       sorted set: the endpoint's seqs (its newest-first pages)
 *   e:{eid}:z:{status} sorted set: its seqs in that status (pages by status, pending reads, counts)
 *   e:{eid}:k:{key}   sorted set: its pending seqs of one ordering key; the first one is the one that may be due
 *   e:{eid}:next      hash: seq → when it is due (ms); only the oldest pending of each key, or requeued ones
 *   e:{eid}:ids       hash: delivery id → seq
 *   dead              sorted set: every endpoint's dead seqs (dead letters)
 *   delivered         sorted set: delivered seqs by createdAt (ms), oldest first for pruning
 *   eids              set: the endpoint ids that have deliveries (counts)
 */
const PREFIX = 'hs:wh:';
const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'dead'];
/** How many deliveries one removal script takes at most, so Redis is never held long by a large endpoint. */
const REMOVE_BATCH = 1000;
/** How long a batch of writes is retried while Redis is away before its writers are told it failed. */
const WRITE_RETRY_MS = 30_000;

const millis = (iso: string) => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`not a time: ${iso}`);
  return ms;
};

/** Each property JSON under its own name; `undefined` (or null) ones listed apart, to be removed. */
const fieldsOf = (props: Record<string, unknown>) => {
  const set: string[] = [];
  const unset: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) unset.push(k);
    else set.push(k, JSON.stringify(v));
  }
  return { set, unset };
};

const deliveryOf = ([seq, flat, next]: [number | string, string[], string | null]): StoredDelivery => {
  const props: Record<string, unknown> = {};
  let body = '';
  for (let i = 0; i < flat.length; i += 2) {
    const [k, v] = [flat[i], flat[i + 1]];
    if (k === '_b') body = v;
    else if (!k.startsWith('_') && k !== 'nextAttemptAt') props[k] = JSON.parse(v);
  }
  return {
    ...(props as Omit<WebhookDelivery, 'body'>),
    body,
    seq: Number(seq),
    ...(next === null ? {} : { nextAttemptAt: new Date(Number(next)).toISOString() }),
  };
};

/** A command that may succeed if tried again: the connection, not the command, failed. */
const transient = (err: unknown) => !(err instanceof Error) || !/^(ERR|WRONGTYPE|NOSCRIPT)\b/.test(err.message);

/**
 * The webhook store on Redis, shared by every node (REDIS_URL): same contract as the SQLite store. Writes made
 * while one runs go together in one script call; a batch whose connection failed is sent again (an insert is
 * known by its delivery id, so it is never stored twice) until Redis answers or WRITE_RETRY_MS has passed.
 */
export const openRedisWebhookStore = async (url: string): Promise<WebhookStore> => {
  const client = await openRedisStoreClient(url, 'webhooks', 2000);
  let closed = false;

  const run = (script: string, args: (string | number)[]) => evalScript(client, script, [], [PREFIX, ...args]);
  const retried = async <T>(work: () => Promise<T>): Promise<T> => {
    const until = Date.now() + WRITE_RETRY_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await work();
      } catch (err) {
        if (closed || !transient(err) || Date.now() + wait > until) throw err;
        await delay(wait);
      }
    }
  };

  const writes = deliveryWrites(async (inserts, updates) => {
    const stored: [string, number][] = [];
    if (inserts.length) {
      const args = inserts.flatMap(({ body, nextAttemptAt: _n, ...rest }) => {
        const { set } = fieldsOf(rest);
        return [rest.id, rest.endpointId, rest.orderingKey, rest.status, millis(rest.createdAt), body, set.length / 2, ...set];
      });
      const got = (await retried(() => run(scripts.ADD, args))) as number[];
      inserts.forEach((d, i) => stored.push([d.id, got[i]]));
    }
    if (updates.length) {
      const args = updates.flatMap(({ seq, patch, nextAttemptAt, fence }) => {
        const { set, unset } = fieldsOf(patch);
        return [
          seq,
          fence?.key ?? '',
          fence?.value ?? '',
          patch.status ?? '',
          nextAttemptAt ?? '',
          set.length / 2,
          ...set,
          unset.length,
          ...unset,
        ];
      });
      await retried(() => run(scripts.UPDATE, args));
    }
    return stored;
  });

  const read = async (key: string, start: string | number, stop: string | number, rev: boolean, limit: number) => {
    if (limit <= 0) return [];
    const rows = (await run(scripts.READ, [key, start, stop, rev ? 'REV' : '', limit])) as [number, string[], string | null][];
    return rows.map(deliveryOf);
  };
  const ek = (endpointId: string, suffix: string) => `${PREFIX}e:${endpointId}:${suffix}`;
  const below = (before?: number) => (before === undefined ? '+inf' : `(${before}`);

  return {
    async endpoints() {
      const all = Object.values(await client.hGetAll(`${PREFIX}endpoints`)).map((v) => JSON.parse(v) as WebhookEndpoint);
      return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },
    putEndpoint: async (endpoint) => void (await client.hSet(`${PREFIX}endpoints`, endpoint.id, JSON.stringify(endpoint))),
    // Deliveries first: a crash between the two leaves an endpoint without history, never history without one.
    async removeEndpoint(id) {
      while (Number(await run(scripts.REMOVE_DELIVERIES, [id, REMOVE_BATCH])) > 0);
      await client.hDel(`${PREFIX}endpoints`, id);
    },
    addDelivery: writes.addDelivery,
    updateDelivery: writes.updateDelivery,
    pending: (endpointId, { after, limit }) => read(ek(endpointId, 'z:pending'), `(${after}`, '+inf', false, limit),
    async getDelivery(endpointId, id) {
      const seq = await client.hGet(ek(endpointId, 'ids'), id);
      return seq == null ? undefined : (await read(ek(endpointId, 'all'), seq, seq, false, 1))[0];
    },
    listDeliveries: (endpointId, { status, limit, before }) =>
      read(ek(endpointId, status ? `z:${STATUSES.includes(status) ? status : 'none'}` : 'all'), below(before), '-inf', true, limit),
    deadLetters: ({ limit, before }) => read(`${PREFIX}dead`, below(before), '-inf', true, limit),
    requeue: async (endpointId, which, now) =>
      Number(await run(scripts.REQUEUE, [endpointId, now, ...('id' in which ? ['id', which.id] : ['status', which.status])])),
    resume: async (endpointId, now) => void (await run(scripts.RESUME, [endpointId, now])),
    prune: async (before, limit) => (limit <= 0 ? 0 : Number(await run(scripts.PRUNE, [millis(before), limit]))),
    async counts() {
      const rows = (await run(scripts.COUNTS, [])) as [string, number, number, number][];
      return rows.flatMap(([endpointId, ...n]) =>
        STATUSES.flatMap((status, i) => (n[i] > 0 ? [{ endpointId, status, count: Number(n[i]) }] : [])),
      );
    },
    async close() {
      await writes.settled();
      closed = true;
      if (client.isOpen) await client.close();
    },
  };
};
