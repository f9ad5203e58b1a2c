import { randomUUID } from 'node:crypto';
import type { HashsendEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import { afterAttempt, attemptHeaders } from './attempt.js';
import { toWebhookEvent, type WebhookEventSource } from './event-map.js';
import { renderBodies, type WebhookFormats } from './formats.js';
import { createLane, type Lane } from './lane.js';
import type { RetryOptions } from './retry-policy.js';
import type { DeliveryUpdate, WebhookStore } from './store.js';
import type { AttemptOutcome, AttemptResult, WebhookTransport } from './transport.js';
import type { StoredDelivery, WebhookDelivery, WebhookEndpoint } from './types.js';

export interface WebhookEngineOptions {
  store: WebhookStore;
  transport: WebhookTransport;
  log: Logger;
  /** Attempts in flight per endpoint, at most (WEBHOOK_CONCURRENCY). */
  concurrency: number;
  retry: RetryOptions;
  /** An endpoint whose attempts have all failed for this long is disabled (WEBHOOK_DISABLE_AFTER_MS). */
  disableAfterMs: number;
  /** Told of every attempt's outcome, and of every delivery that went dead (metrics). */
  onAttempt?(outcome: AttemptOutcome): void;
  onDead?(): void;
  /** Renderers of the body formats endpoints may ask for (`format` on an endpoint). @default none */
  formats?: WebhookFormats;
  clock?: () => number;
  /** Several nodes on one store (REDIS_URL): see SharedEngine. Absent: this process works every endpoint. */
  shared?: SharedEngine;
}

/**
 * How the engine runs beside other nodes on one store: a lane runs only for an endpoint this node works (holds its
 * lease, src/webhooks/cluster.ts); a delivery stored here for an endpoint worked elsewhere, and every change of an
 * endpoint, is told to the others.
 */
export interface SharedEngine {
  works(endpointId: string): boolean;
  /** `seq`: a delivery stored from there on; none: the endpoint changed (saved, removed, requeued, resumed). */
  tell(endpointId: string, seq?: number): void;
  /** The lease an attempt's result is written under. */
  fence(endpointId: string): DeliveryUpdate['fence'];
}

const iso = (ms: number) => new Date(ms).toISOString();
export const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

const wants = (e: WebhookEndpoint, source: WebhookEventSource) =>
  (e.sessionId === undefined || e.sessionId === source.sessionId) && (e.events.includes('*') || e.events.includes(source.type));

/**
 * Turns bus events into persisted deliveries and runs each endpoint's lane. `publish` never waits: it shapes the
 * event once and hands a delivery per endpoint to the store's write batch; once that batch is durable, each
 * delivery goes straight to its endpoint's lane in memory (no read). A slow or dead receiver holds up its own lane
 * only, never a publisher. A disabled endpoint still gets its deliveries stored as pending (nothing is lost); its
 * lane reads them from the store once it is enabled again.
 */
export const createWebhookEngine = async ({
  store,
  transport,
  log,
  concurrency,
  retry,
  disableAfterMs,
  onAttempt = () => undefined,
  onDead = () => undefined,
  formats = {},
  clock = Date.now,
  shared,
}: WebhookEngineOptions) => {
  let endpoints = new Map((await store.endpoints()).map((e) => [e.id, e]));
  /** Bumped by every local change of `endpoints`, so a reload read before one does not undo it. */
  let edits = 0;
  const lanes = new Map<string, Lane>();
  const shutdown = new AbortController();
  let started = false;
  let stopped = false;

  /** Keeps the endpoint in memory at once (the next event sees it) and stores it. */
  const save = async (next: WebhookEndpoint) => {
    edits++;
    endpoints.set(next.id, next);
    await store.putEndpoint(next);
    shared?.tell(next.id);
  };

  /** What an attempt's result changes on its endpoint (its run of failures, or disabled); undefined: nothing. */
  const judged = (e: WebhookEndpoint | undefined, result: AttemptResult, now: number) => {
    if (!e) return undefined;
    if (result.outcome === 'delivered') return e.failingSince ? { ...e, failingSince: undefined } : undefined;
    if (!e.failingSince) return { ...e, failingSince: iso(now) };
    if (!e.enabled || now - Date.parse(e.failingSince) < disableAfterMs) return undefined;
    return {
      ...e,
      enabled: false,
      disabledReason: {
        code: 'failing' as const,
        message: `every delivery has failed since ${e.failingSince} (the last: ${result.message}); enable it again to resume its pending deliveries`,
        at: iso(now),
      },
      updatedAt: iso(now),
    };
  };

  /** Success clears an endpoint's run of failures; failing for `disableAfterMs` without one disables it. */
  const judge = async (id: string, result: AttemptResult, now: number) => {
    let next = judged(endpoints.get(id), result, now);
    // Beside other nodes the endpoint is read again before it is written: an API call elsewhere may have changed it.
    if (next && shared) {
      await reload();
      next = judged(endpoints.get(id), result, now);
    }
    if (!next) return;
    if (!next.enabled && endpoints.get(id)?.enabled) {
      log.warn({ endpointId: id, failingSince: next.failingSince }, 'webhook endpoint disabled: every delivery failed');
      lanes.get(id)?.pause();
    }
    await save(next);
  };

  const attempt = async (d: StoredDelivery, posted: () => void) => {
    const e = endpoints.get(d.endpointId);
    if (!e) return undefined;
    const startedAt = clock();
    const result = await transport.post(e.url, d.body, attemptHeaders(e, d, startedAt), shutdown.signal);
    posted();
    // Cut by a shutdown: no attempt is counted; the delivery goes again at the next start.
    if (!result) return undefined;
    onAttempt(result.outcome);
    const now = clock();
    const update = afterAttempt(d, result, { startedAt, now, retry });
    if (update.patch.status === 'dead') onDead();
    await store.updateDelivery(shared ? { ...update, fence: shared.fence(d.endpointId) } : update);
    await judge(e.id, result, now);
    return update;
  };

  const lane = (endpointId: string) => {
    let l = lanes.get(endpointId);
    if (!l && shared && !shared.works(endpointId)) return undefined;
    if (!l) {
      l = createLane({
        endpointId,
        store,
        concurrency,
        active: () => started && !stopped && !!endpoints.get(endpointId)?.enabled,
        attempt,
        log,
        clock,
      });
      lanes.set(endpointId, l);
    }
    return l;
  };

  /** Reads the endpoints again (another node may have changed them); each lane here follows its endpoint's state. */
  const reload = async () => {
    let list: WebhookEndpoint[] = [];
    for (let at = -1; at !== edits;) {
      at = edits;
      list = await store.endpoints();
    }
    const before = endpoints;
    endpoints = new Map(list.map((e) => [e.id, e]));
    for (const [id, l] of lanes) {
      if (endpoints.get(id)?.enabled) continue;
      l.pause();
      if (!endpoints.has(id)) lanes.delete(id);
    }
    for (const e of endpoints.values()) if (e.enabled && !before.get(e.id)?.enabled) lane(e.id)?.wake();
  };

  return {
    endpoints: () => [...endpoints.values()],
    endpoint: (id: string) => endpoints.get(id),

    /** Stores a new or changed endpoint; an enabled one's lane looks for due deliveries at once. */
    async save(next: WebhookEndpoint) {
      await save(next);
      if (next.enabled) lane(next.id)?.wake();
      else lanes.get(next.id)?.pause();
    },

    async remove(id: string) {
      edits++;
      endpoints.delete(id);
      lanes.get(id)?.pause();
      lanes.delete(id);
      await store.removeEndpoint(id);
      shared?.tell(id);
    },

    /** Something became due on disk outside the lane's knowledge (a replay, a re-enable): it reads the store again. */
    wake(id: string) {
      lane(id)?.wake();
      shared?.tell(id);
    },

    reload,

    /** Another node changed the endpoint (or what is due of it): read again, and its lane here reads the store again. */
    async heard(id: string) {
      await reload();
      if (endpoints.get(id)?.enabled) lanes.get(id)?.wake();
    },

    /** Another node stored deliveries of the endpoint from `seq` on: its lane here, if any, reads them. */
    wakeFrom: (id: string, seq: number) => lanes.get(id)?.wakeFrom(seq),

    /** This node works the endpoint from now on (shared: it took its lease). */
    async work(id: string) {
      if (!endpoints.has(id)) await reload();
      if (started && endpoints.get(id)?.enabled) lane(id)?.wake();
    },

    /** This node works the endpoint no more: no new attempt; resolves once those in flight have ended. */
    async drop(id: string) {
      const l = lanes.get(id);
      lanes.delete(id);
      l?.pause();
      await l?.idle();
    },

    /** A bus event: stored for every endpoint that wants it. Returns at once. */
    publish(event: HashsendEvent) {
      if (stopped || endpoints.size === 0) return;
      const source = toWebhookEvent(event);
      if (!source) return;
      const targets = [...endpoints.values()].filter((e) => wants(e, source));
      if (targets.length === 0) return;
      const createdAt = iso(clock());
      const id = newId('evt');
      const ours = JSON.stringify({ id, type: source.type, createdAt, data: source.data });
      // An endpoint with a format gets its bodies (none, one or several), hashsend's own otherwise.
      const bodies = targets.flatMap((e) => renderBodies(formats, e, event, source, { id, createdAt }, ours).map((body) => ({ e, body })));
      for (const { e, body } of bodies) {
        const delivery: WebhookDelivery = {
          id: newId('whd'),
          endpointId: e.id,
          event: { id, type: source.type, createdAt },
          orderingKey: source.orderingKey,
          body,
          status: 'pending',
          attempts: 0,
          createdAt,
        };
        store.addDelivery(delivery).then(
          (seq) => {
            const l = lanes.get(e.id);
            if (l) l.add({ ...delivery, seq });
            else shared?.tell(e.id, seq);
          },
          (err: unknown) => log.error({ err, endpointId: e.id, eventId: id, type: source.type }, 'a webhook delivery could not be stored'),
        );
      }
    },

    /** Starts every enabled endpoint's lane: pending deliveries, from before a restart too, resume. */
    start() {
      started = true;
      for (const e of endpoints.values()) if (e.enabled) lane(e.id)?.wake();
    },

    /** No new attempts; those in flight are cut (they count as no attempt and go again at the next start). */
    async stop() {
      stopped = true;
      for (const l of lanes.values()) l.pause();
      shutdown.abort();
      await Promise.all([...lanes.values()].map((l) => l.idle()));
    },
  };
};

export type WebhookEngine = Awaited<ReturnType<typeof createWebhookEngine>>;
