import type { Logger } from '../log.js';
import type { WebhookStore } from './store.js';

const BATCH = 5000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * Delivered deliveries are kept for WEBHOOK_KEEP_DELIVERED_MS (to look at and replay), then removed: at start and
 * then hourly (or sooner for a shorter keep), a batch at a time so no write waits long behind one. Pending and
 * dead ones stay until they are delivered or their endpoint is removed.
 */
export const startPruning = ({
  store,
  keepMs,
  log,
  clock = Date.now,
  claim,
}: {
  store: Pick<WebhookStore, 'prune'>;
  keepMs: number;
  log: Logger;
  clock?: () => number;
  /** Several nodes on one store: whether this node prunes this period (one does). @default always */
  claim?: (periodMs: number) => Promise<boolean>;
}) => {
  const periodMs = Math.min(HOUR_MS, keepMs);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const prune = async () => {
    if (claim && !(await claim(periodMs))) return;
    const before = new Date(clock() - keepMs).toISOString();
    let removed = 0;
    for (let n = BATCH; n === BATCH && !stopped; removed += n) n = await store.prune(before, BATCH);
    if (removed) log.info({ removed, before }, 'webhook deliveries delivered before the keep period removed');
  };
  const tick = () => {
    running = prune().catch((err: unknown) => log.error({ err }, 'webhook deliveries could not be pruned'));
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, periodMs).unref();
    });
  };
  tick();
  return {
    /** Resolves once a prune in progress has stopped. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
