import { after, before } from 'node:test';
import { createClient } from '@redis/client';
import { waitFor } from '../support/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { WEBHOOK_TEST_ENV } from '../webhooks/helpers.js';
import { NODE_IDS, twoNodes } from './two-nodes.js';

/**
 * Two hashsend processes on one Redis (two-nodes.ts) that may post to a receiver on loopback, the receiver, and
 * which node works an endpoint's deliveries.
 */
export const webhookNodes = (env: Record<string, string> = {}) => {
  const { ctx } = twoNodes({ ...WEBHOOK_TEST_ENV, LOG_LEVEL: 'info', ...env });
  const state = {} as { receiver: WebhookReceiver; client?: ReturnType<typeof createClient> };
  before(async () => {
    state.receiver = await startWebhookReceiver();
  });
  after(async () => {
    await state.client?.close();
    await state.receiver?.close();
  });
  /** A connection of the test's own to the nodes' Redis (opened once they run). */
  const redis = async () => {
    if (!state.client) {
      state.client = createClient({ url: ctx.redis.url });
      // Redis is stopped with the nodes, maybe before this connection is closed.
      state.client.on('error', () => undefined);
      await state.client.connect();
    }
    return state.client;
  };
  const node = (id: string) => ctx.nodes[NODE_IDS.indexOf(id as (typeof NODE_IDS)[number])]!;
  return {
    ctx,
    receiver: () => state.receiver,
    /** The node working the endpoint's deliveries: the holder of its lease in Redis, once there is one. */
    worker: (endpointId: string) =>
      waitFor(`a node working ${endpointId}`, async () => {
        const value = await (await redis()).get(`hs:lease:webhook:${endpointId}`);
        return value ? node(value.slice(0, value.lastIndexOf(':'))) : undefined;
      }),
  };
};
