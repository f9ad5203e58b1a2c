import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { HashsendEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import { createSsrfGuard } from '../media/ssrf.js';
import { createWebhookEngine } from './engine.js';
import { preparingPublisher, type WebhookFormats } from './formats.js';
import { createWebhookService } from './service.js';
import { openSqliteWebhookStore } from './store-sqlite.js';
import type { AttemptOutcome } from './transport.js';
import { createWebhookTransport } from './transport.js';
import { startPruning } from './retention.js';
import { shareWebhooks, type WebhookCluster } from './cluster.js';
import type { WebhookStore } from './store.js';

export { verifyWebhookSignature } from './signature.js';

export interface WebhooksOptions {
  config: Pick<Config, 'dataDir' | 'webhooks' | 'redisUrl'>;
  /** Several nodes on REDIS_URL: endpoints and deliveries in Redis, each endpoint worked by one live node. */
  cluster?: WebhookCluster;
  log: Logger;
  requireSession(id: string): void;
  onAttempt?(outcome: AttemptOutcome): void;
  onDead?(): void;
  /** Body formats other surfaces render their endpoints' deliveries in (WASender's). */
  formats?: WebhookFormats;
}

/**
 * Webhooks as the composition root builds them: the store in DATA_DIR's SQLite file, or in Redis shared by every
 * node (src/webhooks/cluster.ts), the transport behind the SSRF guard with WEBHOOK_ALLOW_HOSTS, the engine and the
 * service.
 */
export const openWebhooks = async ({ config, log, requireSession, onAttempt, onDead, formats = {}, cluster }: WebhooksOptions) => {
  const settings = config.webhooks;
  const store = await openStore(config, cluster);
  const sharing = cluster ? shareWebhooks({ cluster, log: log.child({ component: 'webhooks' }) }) : undefined;
  const guard = createSsrfGuard({ allowHosts: settings.allowHosts, setting: 'WEBHOOK_ALLOW_HOSTS' });
  const transport = createWebhookTransport({ guard, timeoutMs: settings.timeoutMs });
  const engine = await createWebhookEngine({
    store,
    transport,
    log: log.child({ component: 'webhooks' }),
    concurrency: settings.concurrency,
    retry: { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs, periodMs: settings.retryPeriodMs },
    disableAfterMs: settings.disableAfterMs,
    onAttempt,
    onDead,
    formats,
    ...(sharing ? { shared: sharing.shared } : {}),
  });
  const publish = preparingPublisher({ formats, endpoints: engine.endpoints, publish: engine.publish, log });
  let pruning: ReturnType<typeof startPruning> | undefined;
  const service = createWebhookService({
    engine,
    store,
    guard,
    requireSession,
    secretGraceMs: settings.secretGraceMs,
    // Another node may have changed the endpoints since this one last heard.
    ...(sharing ? { fresh: engine.reload } : {}),
  });
  return {
    service,
    /** The bus listener: hands the event over and returns. */
    publish: (event: HashsendEvent) => publish(event),
    /** Deliveries per endpoint and status, read when metrics are scraped. */
    counts: () => store.counts(),
    async start() {
      engine.start();
      await sharing?.start(engine);
      pruning ??= startPruning({ store, keepMs: settings.keepDeliveredMs, log, ...(sharing ? { claim: sharing.claimPrune } : {}) });
    },
    /** Cuts attempts in flight (they go again at the next start), then writes what is pending and closes. */
    async stop() {
      // Endpoints handed to the other nodes first: they take them on at once.
      await sharing?.stop();
      await pruning?.stop();
      await engine.stop();
      await transport.close();
      await store.close();
    },
  };
};

const openStore = async (config: WebhooksOptions['config'], cluster?: WebhookCluster): Promise<WebhookStore> => {
  if (cluster && config.redisUrl) {
    const { openRedisWebhookStore } = await import('./store-redis.js');
    return openRedisWebhookStore(config.redisUrl);
  }
  await mkdir(config.dataDir, { recursive: true });
  return openSqliteWebhookStore(path.resolve(config.dataDir, 'hashsend.sqlite'));
};

export type Webhooks = Awaited<ReturnType<typeof openWebhooks>>;
