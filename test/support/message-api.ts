import { after, before } from 'node:test';
import { startRedis, type RedisServer } from './redis.js';
import { startServer, waitFor, type StartedServer } from './server.js';

export interface ApiMessage {
  id: string;
  status: string;
  attempts: number;
  waMessageId: string | null;
  error?: { code: string };
}
export interface SandboxDelivery {
  messageId: string;
  text?: string;
  sendAttempts: number;
  /** When a send of it was answered: never, for a send whose answer was lost. */
  acknowledgedAt?: string;
}

/** Sends and looks at messages through a server's API, and at what its sandbox sessions delivered. */
export const messageApi = (server: StartedServer) => {
  const json = async <T>(res: Response) => (await res.json()) as T;
  const message = async (id: string) => json<ApiMessage>(await server.api(`/api/messages/${id}`));
  return {
    json,
    message,
    /** Queues a text to a fixed recipient; resolves with the message id (a refusal throws). */
    async send(session: string, text: string, headers?: Record<string, string>) {
      const res = await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915123456789', text }, headers });
      if (res.status !== 202) throw new Error(`send refused: ${res.status} ${await res.text()}`);
      return (await json<{ id: string }>(res)).id;
    },
    deliveries: async (session: string) =>
      (await json<{ items: SandboxDelivery[] }>(await server.api(`/api/sessions/${session}/sandbox/deliveries`))).items,
    createSession: (id: string) => server.api('/api/sessions', { method: 'POST', json: { id } }),
    link: (session: string) => server.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} }),
    failNext: (session: string, failure: Record<string, unknown>) =>
      server.api(`/api/sessions/${session}/sandbox/failures`, { method: 'POST', json: failure }),
    /** Resolves with the message once `ok`; a timeout says what the message was last. */
    async until(id: string, ok: (m: ApiMessage) => boolean, what: string, timeoutMs?: number) {
      let last: ApiMessage | undefined;
      try {
        return await waitFor(
          what,
          async () => {
            last = await message(id);
            return ok(last) ? last : undefined;
          },
          timeoutMs,
        );
      } catch (err) {
        if (err instanceof Error) err.message += `; the message was last ${JSON.stringify(last)}`;
        throw err;
      }
    },
  };
};

/** Delivered or read: the message reached the phone. */
export const reached = (m: ApiMessage) => m.status === 'delivered' || m.status === 'read';

/** For the tests of one file: hashsend on a redis-server of its own, started before them and stopped after. */
export const serverOnRedis = (env: Record<string, string> = {}) => {
  const ctx = {} as { redis: RedisServer; server: StartedServer; api: ReturnType<typeof messageApi> };
  before(async () => {
    ctx.redis = await startRedis();
    // A process that crashed still holds its sessions' leases until they run out: a short lease keeps a restart
    // from waiting the default 10 s for its own sessions.
    ctx.server = await startServer({ CLUSTER_LEASE_TTL_MS: '2000', ...env, REDIS_URL: ctx.redis.url });
    ctx.api = messageApi(ctx.server);
  });
  after(async () => {
    await ctx.server?.close();
    await ctx.redis?.stop();
  });
  return ctx;
};
