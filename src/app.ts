import type { Server } from 'node:http';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createStoreFactory } from './store/index.js';
import { ensureApiKey } from './api-key.js';
import { createHttpApp } from './http/app.js';
import { healthRoutes, type Readiness } from './http/routes/health.js';
import { createBlobStore } from './media/blobs.js';
import { driverBlobs } from './media/driver-blobs.js';
import { blobsNotShared, checkSharedBlobs } from './media/shared-blobs.js';
import { createFetcher } from './media/fetcher.js';
import { createMediaResolver } from './media/resolver.js';
import { createSandboxDriver } from './whatsapp/sandbox/driver.js';
import { createCloudDriver } from './whatsapp/cloud/index.js';
import { createSessionManager } from './whatsapp/sessions.js';
import { createCredentialStore } from './whatsapp/credentials/index.js';
import { createClusterSessions } from './whatsapp/cluster-sessions.js';
import { redisSessionIds } from './whatsapp/session-ids.js';
import { createOutbox } from './outbox/index.js';
import { createBullOutbox } from './outbox/bullmq/index.js';
import { createEventBus } from './events/bus.js';
import type { HashsendEvent } from './events/types.js';
import { createMessageService } from './messages/service.js';
import { createInbox } from './messages/inbox.js';
import { idempotency } from './http/idempotency.js';
import { createOpenApiDocument } from './http/openapi.js';
import { sessionRoutes, describeSessionRoutes } from './http/routes/sessions.js';
import { sandboxRoutes, describeSandboxRoutes } from './http/routes/sandbox.js';
import { messageRoutes, describeMessageRoutes } from './http/routes/messages.js';
import { inboxRoutes, describeInboxRoutes } from './http/routes/inbox.js';
import { docsRoutes } from './http/routes/docs.js';
import { hookRoutes, describeHookRoutes } from './http/routes/hooks.js';
import { mediaRoutes, publicMediaRoutes, describeMediaRoutes } from './http/routes/media.js';
import { createChecker } from './media/check.js';
import { webRoutes } from './http/routes/web.js';
import { createMetrics } from './metrics/index.js';
import { describeMetricsRoute, metricsHandler } from './metrics/route.js';
import { createDrain } from './http/drain.js';
import { storeGuard } from './http/redis-guard.js';
import { openCluster } from './cluster/index.js';
import { ownNodeSessions } from './cluster/node-sessions.js';
import { leaseFences } from './cluster/leases.js';
import { Router } from 'express';
import { drainAndClose } from './shutdown.js';
import { openBroadcastStore } from './broadcasts/open-store.js';
import { createBroadcastService } from './broadcasts/service.js';
import { broadcastRoutes, describeBroadcastRoutes } from './http/routes/broadcasts.js';
import type { BroadcastEvent } from './events/types.js';
import type { EventBus } from './events/bus.js';
import { createOptOutStore } from './optouts/store.js';
import { createOptOutService } from './optouts/service.js';
import { listenForOptOutKeywords } from './optouts/listener.js';
import { optOutRoutes, describeOptOutRoutes } from './http/routes/opt-outs.js';
import { openWebhooks } from './webhooks/index.js';
import { webhookRoutes, describeWebhookRoutes } from './http/routes/webhooks.js';
import { createWasenderAccounts } from './wasender/accounts.js';
import { wasenderRoutes } from './http/wasender/index.js';
import { wasenderMessageRoutes } from './http/wasender/messages.js';
import { wasenderUploadRoutes } from './http/wasender/upload.js';
import { createWasenderMessages } from './wasender/messages.js';
import { createMessageIds } from './wasender/message-ids.js';
import { createSendPacer } from './wasender/send-pacing.js';
import { createSessionTools } from './whatsapp/session-tools.js';
import { lazyDriver } from './whatsapp/lazy-driver.js';
import { WHATSAPP_WEB_CAPABILITIES } from './whatsapp/capabilities.js';
import { createWasenderFormat, WASENDER_FORMAT } from './wasender/webhook-format.js';
import { createWasenderWebhooks } from './wasender/webhooks.js';

export interface AppOptions {
  config: Config;
  log: Logger;
  /** Where every event is published. @default a bus of its own */
  events?: EventBus<HashsendEvent>;
}

/**
 * The composition root: the one place that builds stores, media, sessions, the outbox and HTTP, and the one
 * place that closes them in order.
 */
export const createApp = async ({ config, log, events = createEventBus<HashsendEvent>({ log }) }: AppOptions) => {
  let readiness: Readiness = 'starting';
  const stores = await createStoreFactory({ dataDir: config.dataDir, redisUrl: config.redisUrl });
  // Before any session opens: other nodes' events and calls are heard from the start.
  const cluster = config.redisUrl ? await openCluster({ url: config.redisUrl, config, log, events }) : undefined;
  const apiKey = await ensureApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });

  const blobs = createBlobStore({ dir: config.blobsDir, log });
  // A node that cannot read the others' blobs would accept sends their owners cannot make, and own sessions whose
  // sends it cannot make: it takes no work (`/readyz` 503) until BLOBS_DIR is the shared folder.
  const blobsShare = cluster
    ? await checkSharedBlobs({ dir: config.blobsDir, client: cluster.redis.client, nodeId: cluster.nodeId, log })
    : undefined;
  const unshared = blobsShare?.shared === false ? blobsShare : undefined;
  const fetcher = createFetcher({ media: config.media, proxy: config.proxy, log });
  const resolver = createMediaResolver({
    limits: config.media.maxBytes,
    blobs,
    fetcher,
    records: stores.namespace('media'),
    log,
    onFetch: (end) => metrics.fetched(end),
  });
  const media = {
    resolver,
    blobs,
    checker: createChecker({ config, log, fetcher, tempPath: blobs.tempPath }),
    limits: config.media.maxBytes,
  };

  const credentials = createCredentialStore({ config, redis: cluster?.redis.client, log });
  // The owner's own writes (Baileys' keys and creds) land only under the lease token it opened the session with: a
  // node paused past its lease cannot overwrite what the next owner wrote.
  const ownerCredentials = cluster
    ? createCredentialStore({ config, redis: cluster.redis.client, log, fence: leaseFences(cluster.nodeId, (id) => ownership?.token(id)) })
    : credentials;
  const sessionStore = stores.namespace('sessions');
  const sessionIds = cluster ? redisSessionIds(cluster.redis.client, sessionStore) : undefined;
  const localSessions = createSessionManager({
    events,
    sessionsDir: config.sessionsDir,
    credentials,
    store: sessionStore,
    // On Redis a session opens only on the node holding its lease (src/cluster/ownership.ts).
    ...(sessionIds ? { leased: true, ids: sessionIds } : {}),
    drivers: {
      sandbox: createSandboxDriver(),
      // Importing Baileys takes ~0.6 s: start-up pays it only when a Baileys session is there to restore.
      baileys: lazyDriver('baileys', WHATSAPP_WEB_CAPABILITIES, async () =>
        (await import('./whatsapp/baileys/index.js')).createBaileysDriver({
          log,
          uploadCacheTtlMs: config.whatsapp.uploadCacheTtlMs,
          ...config.whatsapp.baileys,
          credentials: ownerCredentials,
        }),
      ),
      cloud: createCloudDriver({
        log,
        store: stores.namespace('cloud'),
        ...config.whatsapp.cloud,
        publicUrl: config.publicUrl,
        publicMedia: config.media.publicMedia,
        limits: config.media.maxBytes,
      }),
    },
    defaultDriver: config.whatsapp.defaultDriver,
    blobs: driverBlobs(blobs, config.blobsDir),
    log,
  });
  const clusterSessions =
    cluster && sessionIds
      ? createClusterSessions({
          local: localSessions,
          ids: sessionIds,
          cluster: cluster.link,
          client: cluster.redis.client,
          events,
          log,
          poke: cluster.poke,
          // A dead owner's lease runs out within its TTL and the next owner takes it at its next pass; a call to the
          // dead one first may take its 5 s to fail.
          ownerWaitMs: Math.round(cluster.leaseTtlMs * 1.5) + 6000,
        })
      : undefined;
  const sessions = clusterSessions ?? localSessions;
  // Listening before any session opens: nothing a driver reads at start-up is missed.
  const inbox = createInbox({ store: stores.namespace('inbox'), events, media: resolver, log });
  const outboxOptions = {
    events,
    store: stores.namespace('outbox'),
    sessions,
    log,
    maxAgeMs: config.whatsapp.queueMaxAgeMs,
    retryBaseMs: config.whatsapp.queueRetryBaseMs,
    maxAttempts: config.whatsapp.queueMaxAttempts,
  };
  // On Redis the queue is BullMQ's: any node queues, a session's queue is worked by its owner only.
  const bullOutbox = config.redisUrl ? await createBullOutbox({ ...outboxOptions, redisUrl: config.redisUrl }) : undefined;
  const outbox = bullOutbox ?? createOutbox(outboxOptions);
  const metrics = createMetrics({ events, sessions: sessions.list, backlog: outbox.backlog, webhooks: () => webhooks.counts() });
  const drain = createDrain();
  // Work is refused while the server drains, and while the store it would be kept in (Redis) does not answer.
  const guards = Router().use(drain.guard, ...(cluster ? [storeGuard(cluster.redis.isUp)] : []));
  if (unshared) guards.use((_req, _res, next) => next(blobsNotShared(unshared)));
  // Throws session_not_found for an unknown id before anything is fetched or stored.
  const requireSession = (id: string) => void sessions.get(id);
  const optOutStore = createOptOutStore(stores.namespace('optouts'));
  const optOuts = createOptOutService({ store: optOutStore, events, requireSession });
  const messages = createMessageService({
    outbox,
    media: resolver,
    requireSession,
    capabilities: sessions.capabilities,
    optOuts: optOutStore,
    inbox,
  });
  const stopOptOutKeywords = listenForOptOutKeywords({ events, optOuts, messages, ...config.optOuts, log });
  const wasenderIds = createMessageIds(stores.namespace('wasender_msgids'));
  const webhooks = await openWebhooks({
    config,
    log,
    requireSession,
    onAttempt: metrics.webhooks.attempt,
    onDead: metrics.webhooks.dead,
    formats: { [WASENDER_FORMAT]: createWasenderFormat({ ids: wasenderIds }) },
    // On Redis: endpoints and deliveries shared, each endpoint worked by one live node.
    ...(cluster ? { cluster } : {}),
  });
  // From now on: the session states of the restore at start are delivered too.
  const unsubscribeWebhooks = events.subscribe(webhooks.publish);
  const broadcastStore = await openBroadcastStore(stores.backend);
  // On several nodes a broadcast's pace, daily count and due times live in Redis: a new owner keeps to them.
  const pacing = config.redisUrl
    ? await (await import('./broadcasts/pacing-redis.js')).openRedisPacing({ url: config.redisUrl, log })
    : undefined;
  const broadcasts = createBroadcastService({
    store: broadcastStore,
    messages,
    optOuts: optOutStore,
    requireSession,
    events,
    log,
    ...(clusterSessions ? { runsHere: clusterSessions.owns } : {}),
    ...(pacing ? { pacing } : {}),
  });
  // Shown to clients only: another node's broadcast progress too.
  const broadcastEvents = {
    subscribe: (listener: (e: BroadcastEvent) => void) => events.subscribe((e) => e.type === 'broadcast' && listener(e), { from: 'all' }),
  };
  const ownership =
    cluster && clusterSessions && bullOutbox
      ? ownNodeSessions({ cluster, sessions: clusterSessions, outbox: bullOutbox, broadcasts, log })
      : undefined;
  const wasender = createWasenderAccounts({
    store: stores.namespace('wasender'),
    sessions,
    webhooks: createWasenderWebhooks({ webhooks: webhooks.service }),
  });
  const wasenderMessages = createWasenderMessages({ messages, outbox, ids: wasenderIds });
  const sessionTools = createSessionTools({ sessions, log });
  const describe = [
    describeMediaRoutes,
    describeSessionRoutes,
    describeSandboxRoutes,
    describeMessageRoutes,
    describeInboxRoutes,
    describeBroadcastRoutes,
    describeOptOutRoutes,
    describeWebhookRoutes,
    describeHookRoutes,
    describeMetricsRoute,
  ];
  const openapi = createOpenApiDocument(describe, {
    version: '0.1.0',
    serverUrl: config.publicUrl,
  });

  const http = createHttpApp({
    log,
    trustProxy: config.trustProxy,
    auth: { apiKey: apiKey.key, ...config.auth, limiter: cluster?.failureLimiter('api') },
    health: healthRoutes({
      readiness: () =>
        readiness !== 'ready'
          ? readiness
          : unshared
            ? 'blobs_not_shared'
            : cluster && !cluster.redis.isUp()
              ? 'store_unreachable'
              : readiness,
    }),
    metrics: metricsHandler(metrics.registry),
    open: [
      webRoutes(),
      docsRoutes({ document: openapi }),
      ...(config.media.publicMedia ? [publicMediaRoutes(media)] : []),
      // Platforms calling a session (Meta's webhooks) hold no key of ours; its driver checks their signature.
      hookRoutes({ sessions }),
      // Its own auth (personal access tokens and session keys) and error shape, outside `/api`'s key check.
      wasenderRoutes({
        accounts: wasender,
        guard: guards,
        auth: { accessTokens: [apiKey.key, ...config.wasender.accessTokens], ...config.auth, limiter: cluster?.failureLimiter('wasender') },
        routers: [
          wasenderMessageRoutes({ messages: wasenderMessages, tools: sessionTools, pacer: createSendPacer(), publicUrl: config.publicUrl }),
          wasenderUploadRoutes({ media, publicMedia: config.media.publicMedia, publicUrl: config.publicUrl }),
        ],
      }),
    ],
    api: [
      guards,
      mediaRoutes(media),
      sessionRoutes({ sessions, broadcasts: broadcastEvents }),
      sandboxRoutes({ sessions, media: resolver }),
      messageRoutes({ sessions, outbox, messages, idempotency: idempotency() }),
      inboxRoutes({ sessions, inbox }),
      broadcastRoutes({ broadcasts }),
      optOutRoutes({ optOuts }),
      webhookRoutes({ webhooks: webhooks.service }),
    ],
  });

  let server: Server | undefined;
  return {
    apiKey,
    http,
    sessions,
    /** Session, message and broadcast events, for listeners inside this process (metrics, webhooks). */
    events: events as Pick<typeof events, 'subscribe'>,
    /**
     * Makes every known session known (each opens in the background), then listens: no request can find a
     * stored session missing. `/readyz` answers 200 once the queues are resumed.
     */
    async start(): Promise<Server> {
      await sessions.restore();
      for (const { id, err } of await wasender.syncWebhooks())
        log.warn({ err, wasenderSession: id }, 'a WASender session webhook could not be set up');
      server = await new Promise<Server>((resolve, reject) => {
        // Express 5 hands a listen error (EADDRINUSE) to this callback rather than throwing it.
        const s = http.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      outbox.start();
      await webhooks.start();
      // This node's share of the sessions opens, with their queues and broadcasts.
      if (!unshared) await ownership?.start();
      // After the outbox: a broadcast picked up again finds its session's queue running.
      await broadcasts.start();
      readiness = 'ready';
      return server;
    },
    /**
     * Stops taking work (`/readyz` 503, sends 503 `shutting_down`), hands no more broadcast recipients over, lets
     * what is in flight finish for up to `drainMs` (src/shutdown.ts), closes sessions and HTTP, then the stores.
     */
    async stop({ drainMs = 0 }: { drainMs?: number } = {}) {
      readiness = 'stopping';
      stopOptOutKeywords();
      // Each session closed (its broadcast runners and queue first) and its lease freed now: another node opens
      // it at once, not when the lease runs out.
      await ownership?.stop();
      await broadcasts.stop();
      await pacing?.close();
      await drainAndClose({ drain, outbox, sessions, server, log }, { drainMs });
      // Sessions are closed: nothing more arrives, and what did is stored before the store closes.
      await inbox.stop();
      // After the sessions: the events of the drain are stored for the next start.
      unsubscribeWebhooks();
      await webhooks.stop();
      metrics.close();
      await fetcher.close();
      await broadcastStore.close();
      await stores.close();
      await cluster?.close();
    },
  };
};

export type App = Awaited<ReturnType<typeof createApp>>;
