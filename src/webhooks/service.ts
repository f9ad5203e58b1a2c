import { randomBytes } from 'node:crypto';
import { HashsendError } from '../errors.js';
import type { SsrfGuard } from '../media/ssrf.js';
import { newId, type WebhookEngine } from './engine.js';
import type { WebhookStore } from './store.js';
import type { DeliveryStatus, EndpointFormat, StoredDelivery, WebhookEndpoint } from './types.js';
import { checkWebhookUrl } from './url-check.js';

export interface EndpointInput {
  url: string;
  events: string[];
  sessionId?: string;
  description?: string;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  description?: string;
  enabled?: boolean;
}

/** An endpoint another surface keeps in step with its own settings (a WASender session's webhook). */
export interface ManagedEndpoint {
  url: string;
  events: string[];
  sessionId: string;
  description: string;
  format: EndpointFormat;
  /** The surface's own secret: it signs hashsend's header too, so there is one secret to keep. */
  secret: string;
}

export interface WebhookServiceOptions {
  engine: WebhookEngine;
  store: Pick<WebhookStore, 'counts' | 'getDelivery' | 'listDeliveries' | 'deadLetters' | 'requeue' | 'resume'>;
  guard: SsrfGuard;
  /** Throws `session_not_found` for an unknown session. */
  requireSession(id: string): void;
  /** How long the secret before a rotation still signs (WEBHOOK_SECRET_GRACE_MS). */
  secretGraceMs: number;
  /** Brings the engine's endpoints up to date before a call reads them (other nodes change them too). @default none */
  fresh?: () => Promise<void>;
  clock?: () => number;
}

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;
const notFound = (id: string) => new HashsendError('webhook_not_found', 404, `no webhook endpoint "${id.slice(0, 64)}"`);

/**
 * A managed endpoint's URL, events, secret and existence follow its surface's settings (they would be put back
 * at its next change, and a rotated secret would no longer match the one that surface shows): changed there only.
 */
const refuseManaged = (e: WebhookEndpoint, what: string) => {
  if (!e.format) return;
  throw new HashsendError(
    'webhook_managed',
    409,
    `webhook endpoint "${e.id}" is kept by ${e.description ?? `the ${e.format.name} surface`}: ${what} it there; here only enabled may change`,
  );
};

/** `['*']` stays as it is; a list loses its repeats. */
const eventList = (events: string[]) => (events.includes('*') ? ['*'] : [...new Set(events)]);

/** An endpoint as the API shows it: never its secrets. */
export const endpointView = (e: WebhookEndpoint, stats?: Record<DeliveryStatus, number>) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
  ...(e.description !== undefined ? { description: e.description } : {}),
  ...(e.format ? { format: e.format.name } : {}),
  enabled: e.enabled,
  ...(e.disabledReason ? { disabledReason: e.disabledReason } : {}),
  createdAt: e.createdAt,
  updatedAt: e.updatedAt,
  ...(stats ? { stats } : {}),
});

export const deliveryView = (d: StoredDelivery) => ({
  id: d.id,
  endpointId: d.endpointId,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  ...(d.lastAttemptAt ? { lastAttemptAt: d.lastAttemptAt } : {}),
  ...(d.status === 'pending' && d.nextAttemptAt ? { nextAttemptAt: d.nextAttemptAt } : {}),
  ...(d.lastError ? { lastError: d.lastError } : {}),
  ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
  createdAt: d.createdAt,
});

const deliveryPage = (items: StoredDelivery[], limit: number) => ({
  items: items.map(deliveryView),
  nextCursor: items.length === limit ? String(items[items.length - 1].seq) : null,
});

/** Endpoints, secrets, delivery history and replays, below http: the routes only parse and shape. */
export const createWebhookService = ({
  engine,
  store,
  guard,
  requireSession,
  secretGraceMs,
  fresh = async () => undefined,
  clock = Date.now,
}: WebhookServiceOptions) => {
  const endpoint = async (id: string) => {
    await fresh();
    const e = engine.endpoint(id);
    if (!e) throw notFound(id);
    return e;
  };
  const stats = async () => {
    const byEndpoint = new Map<string, Record<DeliveryStatus, number>>();
    for (const { endpointId, status, count } of await store.counts()) {
      const s = byEndpoint.get(endpointId) ?? { pending: 0, delivered: 0, dead: 0 };
      s[status] = count;
      byEndpoint.set(endpointId, s);
    }
    return (id: string) => byEndpoint.get(id) ?? { pending: 0, delivered: 0, dead: 0 };
  };
  const now = () => new Date(clock()).toISOString();

  return {
    async create(input: EndpointInput) {
      if (input.sessionId !== undefined) requireSession(input.sessionId);
      const url = await checkWebhookUrl(guard, input.url);
      const at = now();
      const e: WebhookEndpoint = {
        id: newId('whe'),
        url,
        events: eventList(input.events),
        ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        enabled: true,
        secret: newSecret(),
        createdAt: at,
        updatedAt: at,
      };
      await engine.save(e);
      return { ...endpointView(e), secret: e.secret };
    },

    /**
     * Checks a URL as `putManaged` will, for a surface that stores it before it makes the endpoint: an address the
     * SSRF guard blocks is refused; a name that does not resolve now is taken (its deliveries fail until it does).
     */
    checkUrl: (url: string) => checkWebhookUrl(guard, url, { allowUnresolved: true }),

    /**
     * Makes the endpoint `id` what `spec` says, or removes it (null). Its URL is checked like any other. One that
     * was disabled for failing stays so unless `enable`: then its pending deliveries get a new retry period.
     */
    async putManaged(id: string, spec: ManagedEndpoint | null, { enable = true }: { enable?: boolean } = {}) {
      await fresh();
      const current = engine.endpoint(id);
      if (!spec) {
        if (current) await engine.remove(id);
        return;
      }
      // No session check: the surface may make the endpoint just before the session, so none of its events is missed.
      const url = await checkWebhookUrl(guard, spec.url, { allowUnresolved: true });
      const at = now();
      const { secret, ...fields } = spec;
      const next: WebhookEndpoint = {
        ...(current ?? { id, enabled: true, createdAt: at }),
        ...fields,
        url,
        events: eventList(spec.events),
        secret,
        ...(current?.secret !== secret ? { previousSecret: undefined, previousSecretExpiresAt: undefined } : {}),
        ...(enable ? { enabled: true, disabledReason: undefined, failingSince: undefined } : {}),
        updatedAt: at,
      };
      if (enable && current && !current.enabled) await store.resume(id, clock());
      await engine.save(next);
    },

    async list() {
      await fresh();
      const of = await stats();
      return engine.endpoints().map((e) => endpointView(e, of(e.id)));
    },

    get: async (id: string) => endpointView(await endpoint(id), (await stats())(id)),

    async update(id: string, patch: EndpointPatch) {
      const url = patch.url === undefined ? undefined : await checkWebhookUrl(guard, patch.url);
      const current = await endpoint(id);
      if (patch.url !== undefined || patch.events !== undefined || patch.description !== undefined) refuseManaged(current, 'change');
      const enabling = patch.enabled === true && !current.enabled;
      const next: WebhookEndpoint = {
        ...current,
        ...(url !== undefined ? { url } : {}),
        ...(patch.events !== undefined ? { events: eventList(patch.events) } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        ...(enabling ? { disabledReason: undefined, failingSince: undefined } : {}),
        updatedAt: now(),
      };
      // Re-enabled: what waited gets a full retry period from now, instead of going dead at its first failure.
      if (enabling) await store.resume(id, clock());
      await engine.save(next);
      return endpointView(next, (await stats())(id));
    },

    async remove(id: string) {
      refuseManaged(await endpoint(id), 'remove');
      await engine.remove(id);
    },

    /** A new secret; the old one signs beside it until the grace period ends. */
    async rotateSecret(id: string) {
      const current = await endpoint(id);
      refuseManaged(current, 'rotate the secret of');
      const previousSecretExpiresAt = new Date(clock() + secretGraceMs).toISOString();
      const secret = newSecret();
      await engine.save({ ...current, secret, previousSecret: current.secret, previousSecretExpiresAt, updatedAt: now() });
      return { secret, previousSecretExpiresAt };
    },

    async deliveries(id: string, page: { status?: DeliveryStatus; limit: number; before?: number }) {
      await endpoint(id);
      return deliveryPage(await store.listDeliveries(id, page), page.limit);
    },

    /** Dead deliveries across endpoints, newest first. */
    deadLetters: async (page: { limit: number; before?: number }) => deliveryPage(await store.deadLetters(page), page.limit),

    /** Queues one delivery again (delivered or dead), same event id and body, with a new retry period. */
    async replay(id: string, deliveryId: string) {
      await endpoint(id);
      if (!(await store.getDelivery(id, deliveryId))) {
        throw new HashsendError('delivery_not_found', 404, `no delivery "${deliveryId.slice(0, 64)}" of webhook endpoint "${id}"`);
      }
      await store.requeue(id, { id: deliveryId }, clock());
      engine.wake(id);
      return deliveryView((await store.getDelivery(id, deliveryId))!);
    },

    async replayAll(id: string, status: Exclude<DeliveryStatus, 'pending'>) {
      await endpoint(id);
      const replayed = await store.requeue(id, { status }, clock());
      engine.wake(id);
      return { replayed };
    },
  };
};

export type WebhookService = ReturnType<typeof createWebhookService>;
