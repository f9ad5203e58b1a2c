import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { preferredOwner } from '../../src/cluster/placement.js';
import { startRedis, type RedisServer } from '../support/redis.ts';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

export const NODE_IDS = ['node-a', 'node-b'] as const;

/**
 * Two hashsend processes on one redis-server, sharing one SESSIONS_DIR (the volume credentials live on) and one
 * BLOBS_DIR (the volume media lives on), each with its own DATA_DIR and port; started before the file's tests and
 * stopped after.
 */
export const twoNodes = (
  env: Record<string, string> | (() => Promise<Record<string, string>>) = {},
  { imports }: { imports?: string[] } = {},
) => {
  const ctx = {} as { redis: RedisServer; sessionsDir: string; blobsDir: string; nodes: StartedServer[] };
  before(async () => {
    const settings = typeof env === 'function' ? await env() : env;
    ctx.redis = await startRedis();
    ctx.sessionsDir = await mkdtemp(path.join(tmpdir(), 'hashsend-shared-sessions-'));
    ctx.blobsDir = await mkdtemp(path.join(tmpdir(), 'hashsend-shared-blobs-'));
    ctx.nodes = await Promise.all(
      NODE_IDS.map((id) =>
        startServer(
          {
            LOG_LEVEL: 'info',
            CLUSTER_LEASE_TTL_MS: '2000',
            BLOBS_DIR: ctx.blobsDir,
            ...settings,
            REDIS_URL: ctx.redis.url,
            CLUSTER_NODE_ID: id,
          },
          { sessionsDir: ctx.sessionsDir, ...(imports ? { imports } : {}) },
        ),
      ),
    );
  });
  after(async () => {
    await Promise.all((ctx.nodes ?? []).map((n) => n.close()));
    await ctx.redis?.stop();
    if (ctx.sessionsDir) await rm(ctx.sessionsDir, { recursive: true, force: true });
    if (ctx.blobsDir) await rm(ctx.blobsDir, { recursive: true, force: true });
  });
  return {
    ctx,
    /** The node a session is placed on while both are live, and the other one. */
    ownerOf(sessionId: string) {
      const owner = NODE_IDS.indexOf(preferredOwner(sessionId, NODE_IDS) as (typeof NODE_IDS)[number]);
      return { owner: ctx.nodes[owner]!, other: ctx.nodes[1 - owner]! };
    },
  };
};

/** Waits until `node` shows the session in `state`. */
export const untilState = (node: StartedServer, sessionId: string, state: string, timeoutMs = 20_000) =>
  waitFor(
    `session ${sessionId} ${state} on ${node.url}`,
    async () => {
      const res = await node.api(`/api/sessions/${sessionId}`);
      const body = res.ok ? ((await res.json()) as { state: string }) : undefined;
      return body?.state === state ? body : undefined;
    },
    timeoutMs,
  );

/** `node`'s log lines about one session's ownership, oldest first. */
const ownershipLines = (node: StartedServer, sessionId: string) =>
  node
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string; sessionId?: string; time: number }];
      } catch {
        return [];
      }
    })
    .filter((l) => l.sessionId === sessionId && (l.msg === 'session adopted' || l.msg === 'session closing on this node'));

/** When (epoch ms, from its log) `node` adopted the session: its ownership loop opened it there. */
export const adoptions = (node: StartedServer, sessionId: string) =>
  ownershipLines(node, sessionId)
    .filter((l) => l.msg === 'session adopted')
    .map((l) => l.time);

/** How often `node` adopted the session. */
export const adopted = (node: StartedServer, sessionId: string) => adoptions(node, sessionId).length;

/** What `node`'s ownership loop did with the session, in order: opened it (`adopted`) or began closing it. */
export const ownershipLog = (node: StartedServer, sessionId: string) =>
  ownershipLines(node, sessionId).map((l) => (l.msg === 'session adopted' ? ('adopted' as const) : ('closing' as const)));

/** On failure the nodes' last warnings and errors go with the error: a two-node failure is read from both logs. */
export const explained = async <T>(nodes: StartedServer[], work: Promise<T>): Promise<T> => {
  try {
    return await work;
  } catch (err) {
    const lines = nodes.flatMap((node, i) =>
      node
        .output()
        .split('\n')
        .filter((line) => /"level":(40|50|60)/.test(line))
        .slice(-20)
        .map((line) => `${NODE_IDS[i]}: ${line}`),
    );
    if (err instanceof Error) err.message += `\nthe nodes' last warnings and errors:\n${lines.join('\n')}`;
    throw err;
  }
};
