/**
 * Webhooks benchmark, all on loopback in one run, against hashsend as a child process (sandbox driver, LOG_LEVEL=warn,
 * a fresh DATA_DIR, WEBHOOK_CONCURRENCY=8), with the receivers in this process:
 * - throughput: an endpoint for `message.queued|sent|delivered|read` is disabled while a RECIPIENTS broadcast (pace
 *   off) stores its 4 × RECIPIENTS events as pending deliveries; then it is enabled, and the time from the enable to
 *   the receiver's last `message.*` request gives events/s. Baseline, same run, same receiver: a bare POST loop of as
 *   many requests, with a delivery's body and headers of the same size, CONCURRENCY at a time, through undici from a
 *   child process (its own event loop, as the server has).
 * - latency: the endpoint enabled, the same broadcast again, each `message.*` event's receipt time at the receiver
 *   minus the message record's `updatedAt` (the status change it reports; same machine clock), p50 and p99; and the
 *   same for single sends one after another (light load). Baseline: the bare loop's request latency.
 * - send throughput: broadcasts of RECIPIENTS (pace off) with no webhook endpoint, and with an endpoint for every
 *   event whose receiver accepts connections and never answers, alternating after a warm-up; msg/s from just before
 *   the POST to the last delivery the sandbox recorded (its `acknowledgedAt`).
 * Goal: >= 1,000 events/s, p99 < 50 ms, send throughput within 10 %. Printed, not asserted; the last line is
 * `RESULT {json}`. BENCH_WEBHOOKS_RECIPIENTS to change the broadcast size; BENCH_CPU_PROF=<dir> profiles the server;
 * UV_THREADPOOL_SIZE is passed on to the server.
 */
import { loadavg } from 'node:os';
import { startHashsend, type Hashsend } from './hashsend.js';
import { now, runPostLoop, startReceiver, type Receiver } from './support/webhook-load.js';
import { printResult } from './result.js';

const RECIPIENTS = Number(process.env.BENCH_WEBHOOKS_RECIPIENTS ?? 1000);
const CONCURRENCY = 8;
const MESSAGE_EVENTS = ['message.queued', 'message.sent', 'message.delivered', 'message.read'];
const EVENTS = RECIPIENTS * MESSAGE_EVENTS.length;
const SINGLE_SENDS = 200;
/** Send-throughput runs of each kind, after one warm-up. */
const SEND_RUNS = Number(process.env.BENCH_WEBHOOKS_SEND_RUNS ?? 3);
const TIMEOUT_MS = 180_000;
const STALL_MS = 20_000;
const SESSION = 'bench';

const sorted = (xs: number[]) => Float64Array.from(xs).sort();
const pct = (s: Float64Array, p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
const median = (xs: number[]) => pct(sorted(xs), 50);

/** Polls `check` every `everyMs` until it returns a value. */
const until = async <T>(what: string, check: () => Promise<T | undefined> | T | undefined, everyMs = 25): Promise<T> => {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

const ok = async (res: Response, what: string) => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
};
const json = async <T>(res: Promise<Response>, what: string) => (await (await ok(await res, what)).json()) as T;

// hashsend

interface Endpoint {
  id: string;
  stats: { pending: number; delivered: number; dead: number };
}

const phones = (count: number, start: number) => Array.from({ length: count }, (_, i) => `+49152${String(start + i).padStart(7, '0')}`);
let nextPhone = 0;

/** A RECIPIENTS broadcast with pace off; resolves with its id and the time just before the POST. */
const broadcast = async (s: Hashsend, name: string) => {
  const to = phones(RECIPIENTS, nextPhone);
  nextPhone += RECIPIENTS;
  const body = {
    name,
    recipients: to.map((p, i) => ({ to: p, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}: 20 % off everything in the shop this week' },
    pace: { perMinute: 0 },
  };
  const started = Date.now();
  const { id } = await json<{ id: string }>(s.api(`/api/sessions/${SESSION}/broadcasts`, { method: 'POST', json: body }), 'broadcast');
  return { id, started, to: new Set(to.map((p) => `${p.slice(1)}@s.whatsapp.net`)) };
};

/** Waits for the broadcast to complete; one that stops moving for STALL_MS is an error naming its counts. */
const completed = async (s: Hashsend, id: string) => {
  let last = '';
  let movedAt = Date.now();
  await until(`broadcast ${id} completed`, async () => {
    const b = await json<{ status: string; counts: Record<string, number> }>(s.api(`/api/broadcasts/${id}`), 'broadcast status');
    if (b.status === 'completed') return b;
    const counts = JSON.stringify(b.counts);
    if (counts !== last) [last, movedAt] = [counts, Date.now()];
    if (Date.now() - movedAt > STALL_MS) throw new Error(`broadcast ${id} stuck for ${STALL_MS} ms at ${counts}`);
    return undefined;
  });
};

const addEndpoint = (s: Hashsend, url: string, events: string[]) =>
  json<Endpoint>(s.api('/api/webhooks', { method: 'POST', json: { url, events } }), 'add endpoint');
const endpoint = (s: Hashsend, id: string) => json<Endpoint>(s.api(`/api/webhooks/${id}`), 'endpoint');
const setEnabled = (s: Hashsend, id: string, enabled: boolean) =>
  json<Endpoint>(s.api(`/api/webhooks/${id}`, { method: 'PATCH', json: { enabled } }), 'patch endpoint');
const removeEndpoint = async (s: Hashsend, id: string) => ok(await s.api(`/api/webhooks/${id}`, { method: 'DELETE' }), 'delete endpoint');

/** (a) A backlog of EVENTS deliveries drained by the engine; then the bare loop with as many requests. */
const throughput = async (s: Hashsend, receiver: Receiver) => {
  const e = await addEndpoint(s, receiver.url, MESSAGE_EVENTS);
  await setEnabled(s, e.id, false);
  const b = await broadcast(s, 'backlog');
  await completed(s, b.id);
  await until('the backlog stored', async () => ((await endpoint(s, e.id)).stats.pending >= EVENTS ? true : undefined), 250);
  receiver.reset();
  const t0 = now();
  await setEnabled(s, e.id, true);
  await until('the backlog delivered', () => (receiver.messages().length >= EVENTS ? true : undefined), 10);
  const engineMs = Math.max(...receiver.messages().map((r) => r.at)) - t0;
  const sample = receiver.sample()!;
  const bare = await runPostLoop({ url: receiver.url, ...sample, count: EVENTS, concurrency: CONCURRENCY });
  return {
    e,
    engine: EVENTS / (engineMs / 1000),
    bare: EVENTS / (bare.ms / 1000),
    bareLatency: sorted(bare.latencies),
    bodyBytes: sample.body.length,
  };
};

/** Receipt minus the message's `updatedAt`, for every `message.*` request since the receiver was reset. */
const latencies = (receiver: Receiver) => sorted(receiver.messages().map((r) => r.at - Date.parse(r.updatedAt!)));
/** Receipt minus the event's `createdAt` (when the engine took it off the bus): the engine's own share. */
const engineShare = (receiver: Receiver) => sorted(receiver.messages().map((r) => r.at - Date.parse(r.createdAt)));

/** (b) Latency under the burst of a broadcast, and under single sends one after another. */
const latency = async (s: Hashsend, receiver: Receiver) => {
  receiver.reset();
  const b = await broadcast(s, 'live');
  await completed(s, b.id);
  await until('the live events delivered', () => (receiver.messages().length >= EVENTS ? true : undefined), 10);
  const burst = latencies(receiver);
  const burstEngine = engineShare(receiver);
  const burstRate = EVENTS / ((Math.max(...receiver.messages().map((r) => r.at)) - b.started) / 1000);

  receiver.reset();
  for (const to of phones(SINGLE_SENDS, 9_000_000)) {
    await json(s.api(`/api/sessions/${SESSION}/messages`, { method: 'POST', json: { to, text: 'Your order has shipped' } }), 'send');
  }
  await until('the single sends delivered', () => (receiver.messages().length >= SINGLE_SENDS * 4 ? true : undefined), 10);
  return { burst, burstEngine, burstRate, single: latencies(receiver), singleEngine: engineShare(receiver) };
};

interface SandboxDelivery {
  to: string;
  acknowledgedAt?: string;
  receivedAt: string;
}

/** (c) One broadcast's msg/s: from just before the POST to the last delivery the sandbox recorded. */
const sendRun = async (s: Hashsend, name: string) => {
  const b = await broadcast(s, name);
  await completed(s, b.id);
  const { items } = await json<{ items: SandboxDelivery[] }>(s.api(`/api/sessions/${SESSION}/sandbox/deliveries`), 'deliveries');
  const mine = items.filter((d) => b.to.has(d.to));
  if (mine.length !== RECIPIENTS) throw new Error(`${name}: ${mine.length} of ${RECIPIENTS} delivered`);
  const last = Math.max(...mine.map((d) => Date.parse(d.acknowledgedAt ?? d.receivedAt)));
  return RECIPIENTS / ((last - b.started) / 1000);
};

const sendThroughput = async (s: Hashsend, hang: Receiver) => {
  await sendRun(s, 'warm-up');
  const without: number[] = [];
  const withHang: number[] = [];
  for (let run = 1; run <= SEND_RUNS; run++) {
    without.push(await sendRun(s, `no endpoint ${run}`));
    const e = await addEndpoint(s, hang.url, ['*']);
    withHang.push(await sendRun(s, `hanging endpoint ${run}`));
    await removeEndpoint(s, e.id);
    console.log(
      `send run ${run}: ${without.at(-1)!.toFixed(0)} msg/s without an endpoint, ${withHang.at(-1)!.toFixed(0)} with one that never answers`,
    );
  }
  return { without: median(without), withHang: median(withHang) };
};

const main = async () => {
  console.log(`webhooks: ${RECIPIENTS}-recipient broadcasts (${EVENTS} message events each), load average ${loadavg()[0].toFixed(2)}`);
  const [healthy, hang] = await Promise.all([startReceiver('ok'), startReceiver('hang')]);
  const s = await startHashsend({
    logLevel: 'warn',
    profile: 'webhooks',
    env: {
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_CONCURRENCY: String(CONCURRENCY),
      // Passed on when set: the server's SQLite connections wait for each other's locks on libuv's pool threads.
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
    },
  });
  try {
    await ok(await s.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } }), 'session');
    await ok(await s.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } }), 'link');

    const a = await throughput(s, healthy);
    console.log(
      `throughput: ${EVENTS} deliveries (${a.bodyBytes} B bodies) drained at ${a.engine.toFixed(0)} events/s; ` +
        `bare POST loop ${a.bare.toFixed(0)} req/s (${CONCURRENCY} at a time), ${(a.engine / a.bare).toFixed(2)}x`,
    );
    const b = await latency(s, healthy);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const p50p99 = (xs: Float64Array) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}`;
    console.log(`latency from the status change (the record's updatedAt) to receipt; in brackets from the event's createdAt:`);
    console.log(
      `  broadcast burst (${b.burstRate.toFixed(0)} events/s produced and delivered): ${p50p99(b.burst)} [${p50p99(b.burstEngine)}]`,
    );
    console.log(`  ${SINGLE_SENDS} single sends one after another: ${p50p99(b.single)} [${p50p99(b.singleEngine)}]`);
    console.log(`  bare POST loop request: ${p50p99(a.bareLatency)}`);
    await removeEndpoint(s, a.e.id);

    const c = await sendThroughput(s, hang);
    const change = (c.withHang / c.without - 1) * 100;
    console.log(
      `send throughput: median ${c.without.toFixed(0)} msg/s without an endpoint, ${c.withHang.toFixed(0)} with a receiver that never answers ` +
        `(${change >= 0 ? '+' : ''}${change.toFixed(1)} %, goal within 10 %)`,
    );
    printResult('webhooks', [
      {
        name: 'deliveries drained',
        value: a.engine,
        unit: 'events/s',
        baseline: 'bare POST loop',
        baselineValue: a.bare,
        goal: '>= 1000 events/s',
      },
      {
        name: 'latency p50, burst',
        value: pct(b.burst, 50),
        unit: 'ms',
        baseline: 'bare POST p50',
        baselineValue: pct(a.bareLatency, 50),
      },
      {
        name: 'latency p99, burst',
        value: pct(b.burst, 99),
        unit: 'ms',
        baseline: 'bare POST p99',
        baselineValue: pct(a.bareLatency, 99),
        goal: '< 50 ms',
      },
      {
        name: 'latency p50, single sends',
        value: pct(b.single, 50),
        unit: 'ms',
        baseline: 'bare POST p50',
        baselineValue: pct(a.bareLatency, 50),
      },
      {
        name: 'latency p99, single sends',
        value: pct(b.single, 99),
        unit: 'ms',
        baseline: 'bare POST p99',
        baselineValue: pct(a.bareLatency, 99),
        goal: '< 50 ms',
      },
      {
        name: 'send, receiver never answers',
        value: c.withHang,
        unit: 'msg/s',
        baseline: 'no endpoint',
        baselineValue: c.without,
        goal: 'within 10 %',
      },
    ]);
  } catch (err) {
    console.error(s.output().slice(-3000));
    throw err;
  } finally {
    await s.stop();
    await Promise.all([healthy.close(), hang.close()]);
  }
};

await main();
