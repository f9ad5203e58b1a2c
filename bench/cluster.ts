/**
 * Several nodes on Redis, in one run, all on loopback (hashsend as child processes, sandbox driver, a real
 * redis-server started here, SESSIONS_DIR shared by the nodes as a shared volume would be):
 * - accepted sends per second (SENDS texts to one session, IN_FLIGHT requests at a time, split evenly over the nodes'
 *   APIs, the session not linked so nothing is dispatched meanwhile), and the dispatch rate (the session linked, all
 *   SENDS delivered: msg/s from the link to the last delivery the sandbox recorded), on the embedded default, one
 *   node on Redis and two nodes on Redis;
 * - Redis commands per accepted send and per delivered message, from `INFO commandstats` (every call, scripts'
 *   inner commands included, as Redis counts them) around each phase;
 * - the takeover time after a kill -9 of the session's owner with default settings: from the kill to the first
 *   message, accepted by the surviving node after the kill, delivered by it.
 * Goals (issue 13): Redis mode >= 0.5x the embedded accept rate, <= 6 Redis commands per accepted send, dispatch
 * >= 500 msg/s on Redis, takeover < 15 s. Printed, not asserted; the last line is `RESULT {json}`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';
import { startRedis } from '../test/support/redis.js';
import { startHashsend, type Hashsend } from './hashsend.js';
import { printResult, type Figure } from './result.js';

const SENDS = Number(process.env.BENCH_CLUSTER_SENDS ?? 2000);
const IN_FLIGHT = 16;
const SESSION = 'bench';
const TIMEOUT_MS = 180_000;

const ok = async (res: Response, what: string) => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
};
const until = async <T>(what: string, check: () => Promise<T | undefined>, everyMs = 20): Promise<T> => {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

type Redis = Pick<ReturnType<typeof createClient>, 'info'>;
/** Every command Redis ran so far, by name, as `INFO commandstats` counts them (INFO itself left out). */
const commandCounts = async (redis: Redis) => {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls.set(m[1], Number(m[2]));
  return calls;
};
const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
/** The commands run between two counts, per send, most frequent first: where a phase's figure comes from. */
const breakdown = (from: Map<string, number>, to: Map<string, number>) =>
  [...to]
    .map(([name, calls]) => [name, (calls - (from.get(name) ?? 0)) / SENDS] as const)
    .filter(([, per]) => per >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, per]) => `${name} ${per.toFixed(2)}`)
    .join(', ');

const delivered = async (node: Hashsend) =>
  ((await (await ok(await node.api(`/api/sessions/${SESSION}/sandbox/deliveries`), 'deliveries')).json()) as { items: unknown[] }).items
    .length;

interface Run {
  acceptRate: number;
  dispatchRate: number;
  commandsPerSend?: number;
  commandsPerDelivery?: number;
  sendBreakdown?: string;
  deliveryBreakdown?: string;
}

/** SENDS texts accepted through `nodes` in turn while the session waits unlinked, then dispatched once it links. */
const measure = async (nodes: Hashsend[], redis?: Redis): Promise<Run> => {
  await ok(await nodes[0].api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } }), 'create');
  const c0 = redis && (await commandCounts(redis));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < SENDS) {
        const i = next++;
        const node = nodes[i % nodes.length];
        await ok(
          await node.api(`/api/sessions/${SESSION}/messages`, {
            method: 'POST',
            json: { to: `+4915100${String(i).padStart(6, '0')}`, text: `Offer ${i}` },
          }),
          'send',
        );
      }
    }),
  );
  const acceptRate = SENDS / ((performance.now() - started) / 1000);
  const c1 = redis && (await commandCounts(redis));
  const linked = performance.now();
  await ok(await nodes[0].api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: {} }), 'link');
  await until('every send delivered', async () => ((await delivered(nodes[0])) >= SENDS ? true : undefined), 50);
  const dispatchRate = SENDS / ((performance.now() - linked) / 1000);
  const c2 = redis && (await commandCounts(redis));
  return {
    acceptRate,
    dispatchRate,
    ...(redis
      ? {
          commandsPerSend: (total(c1!) - total(c0!)) / SENDS,
          commandsPerDelivery: (total(c2!) - total(c1!)) / SENDS,
          sendBreakdown: breakdown(c0!, c1!),
          deliveryBreakdown: breakdown(c1!, c2!),
        }
      : {}),
  };
};

/** Nodes on one Redis, sharing one SESSIONS_DIR and one BLOBS_DIR; each its own DATA_DIR and port. */
const startNodes = async (count: number, redisUrl: string) => {
  const sessionsDir = await mkdtemp(path.join(tmpdir(), 'hashsend-bench-sessions-'));
  const blobsDir = path.join(sessionsDir, '..', `${path.basename(sessionsDir)}-blobs`);
  const nodes: Hashsend[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startHashsend({ sessionsDir, env: { REDIS_URL: redisUrl, CLUSTER_NODE_ID: `node-${i}`, BLOBS_DIR: blobsDir } }));
  }
  return {
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await rm(sessionsDir, { recursive: true, force: true });
      await rm(blobsDir, { recursive: true, force: true });
    },
  };
};

const redisServer = await startRedis();
const redis = createClient({ url: redisServer.url });
await redis.connect();
const figures: Figure[] = [];
try {
  const embeddedNode = await startHashsend();
  const embedded = await measure([embeddedNode]).finally(() => embeddedNode.stop());
  console.log(`embedded: ${embedded.acceptRate.toFixed(0)} accepted/s, dispatch ${embedded.dispatchRate.toFixed(0)} msg/s`);

  const runOn = async (count: number) => {
    await redis.flushAll();
    const cluster = await startNodes(count, redisServer.url);
    try {
      const run = await measure(cluster.nodes, redis);
      console.log(
        `${count} node(s) on Redis: ${run.acceptRate.toFixed(0)} accepted/s, dispatch ${run.dispatchRate.toFixed(0)} msg/s, ` +
          `${run.commandsPerSend!.toFixed(1)} Redis commands per accepted send, ${run.commandsPerDelivery!.toFixed(1)} per delivered message`,
      );
      console.log(`  per accepted send: ${run.sendBreakdown}`);
      console.log(`  per delivered message: ${run.deliveryBreakdown}`);
      return run;
    } finally {
      await cluster.stop();
    }
  };
  const one = await runOn(1);
  const two = await runOn(2);

  // Takeover with default settings: kill -9 the owner, then time the first send the survivor delivers.
  await redis.flushAll();
  const cluster = await startNodes(2, redisServer.url);
  let takeoverMs = NaN;
  try {
    const [a] = cluster.nodes;
    await ok(await a.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } }), 'create');
    await until('the session owned', async () => (await redis.get(`hs:lease:${SESSION}`)) ?? undefined);
    await ok(await a.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: {} }), 'link');
    const holder = (await redis.get(`hs:lease:${SESSION}`))!;
    const owner = cluster.nodes.find((_, i) => holder.startsWith(`node-${i}:`))!;
    const survivor = cluster.nodes.find((n) => n !== owner)!;
    process.kill(owner.pid, 'SIGKILL');
    const killed = performance.now();
    const res = await until('the survivor to accept a send', async () => {
      const r = await survivor.api(`/api/sessions/${SESSION}/messages`, { method: 'POST', json: { to: '+4915100999999', text: 'after' } });
      return r.status === 202 ? r : undefined;
    });
    const { id } = (await res.json()) as { id: string };
    await until('the survivor to deliver it', async () => {
      const m = (await (await survivor.api(`/api/messages/${id}`)).json()) as { status: string };
      return ['delivered', 'read'].includes(m.status) ? true : undefined;
    });
    takeoverMs = performance.now() - killed;
    console.log(`takeover after kill -9: ${(takeoverMs / 1000).toFixed(1)} s to the first send delivered by the new owner`);
  } finally {
    await cluster.stop();
  }

  figures.push(
    {
      name: 'accepted sends, 1 node on Redis',
      value: Math.round(one.acceptRate),
      unit: 'sends/s',
      baseline: 'embedded',
      baselineValue: Math.round(embedded.acceptRate),
      goal: '>= 0.5x embedded',
    },
    {
      name: 'accepted sends, 2 nodes on Redis',
      value: Math.round(two.acceptRate),
      unit: 'sends/s',
      baseline: 'embedded',
      baselineValue: Math.round(embedded.acceptRate),
      goal: '>= 0.5x embedded',
    },
    {
      name: 'dispatch, 1 node on Redis',
      value: Math.round(one.dispatchRate),
      unit: 'msg/s',
      baseline: 'embedded',
      baselineValue: Math.round(embedded.dispatchRate),
      goal: '>= 500',
    },
    {
      name: 'dispatch, 2 nodes on Redis',
      value: Math.round(two.dispatchRate),
      unit: 'msg/s',
      baseline: 'embedded',
      baselineValue: Math.round(embedded.dispatchRate),
      goal: '>= 500',
    },
    { name: 'Redis commands per accepted send (1 node)', value: Number(one.commandsPerSend!.toFixed(1)), unit: 'commands', goal: '<= 6' },
    { name: 'Redis commands per delivered message (1 node)', value: Number(one.commandsPerDelivery!.toFixed(1)), unit: 'commands' },
    { name: 'takeover after kill -9, default settings', value: Number((takeoverMs / 1000).toFixed(1)), unit: 's', goal: '< 15' },
  );
  printResult('cluster', figures);
} finally {
  await redis.quit();
  await redisServer.stop();
}
