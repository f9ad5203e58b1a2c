/**
 * Dispatch benchmark, all on loopback in one run, against hashsend as a child process (sandbox driver,
 * LOG_LEVEL=warn, a fresh DATA_DIR):
 * - throughput: a 1,000-recipient text broadcast with `pace: { perMinute: 0 }`, timed from just before the POST to
 *   the last delivery the sandbox recorded (its `acknowledgedAt`, the server's clock on this machine); completion is
 *   awaited on the session's SSE stream (`broadcast` frame with status `completed`). One warm-up run, then RUNS
 *   runs; the median counts.
 *   Baseline, measured in this process in the same run: 1,000 Keyv `set`s of a message-sized record into a fresh
 *   SQLite store made by src/store/index.ts (the store the outbox writes through), each awaited before the next.
 *   That is the fair ceiling for today's dispatch: a session's worker sends one message at a time and awaits its
 *   store writes (`sending`, then `sent`) around each send, so a message can never leave faster than one awaited
 *   write; the rate of the same 1,000 sets in flight at once (the store batches them) is printed beside it.
 * - scale: a 10,000-recipient CSV upload (scheduled an hour ahead, so nothing is sent) timed until the 202, then
 *   its report streamed as CSV timed until the last byte; the server's peak RSS growth over both, from
 *   /proc/<pid>/status (VmHWM after resetting it through clear_refs, and VmRSS sampled every 10 ms).
 * Goal: >= 1,000 msg/s, <= 64 MB RSS growth. Printed, not asserted; the last line is `RESULT {json}`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createStoreFactory } from '../src/store/index.js';
import { startHashsend, type Hashsend } from './hashsend.js';
import { printResult } from './result.js';

const RECIPIENTS = 1000;
/** Measured runs after one warm-up run (JIT, SQLite pages); BENCH_DISPATCH_RUNS to change. */
const RUNS = Number(process.env.BENCH_DISPATCH_RUNS ?? 3);
const CSV_RECIPIENTS = 10_000;
const STORE_WRITES = 1000;
const TIMEOUT_MS = 120_000;
const SESSION = 'bench';

const phones = (count: number, start: number) => Array.from({ length: count }, (_, i) => `+49152${String(start + i).padStart(7, '0')}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const ok = async (res: Response, what: string) => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
};

/** A record shaped like the outbox's message record for one broadcast recipient. */
const messageRecord = (i: number) => ({
  id: `3EB0${String(i).padStart(20, '0')}`,
  sessionId: SESSION,
  to: `4915200${String(i).padStart(5, '0')}@s.whatsapp.net`,
  type: 'text',
  content: { type: 'text', text: `Offer ${i}: 20 % off everything in the shop this week` },
  status: 'sent',
  attempts: 1,
  position: i,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  sentAt: new Date().toISOString(),
  waMessageId: `3EB0${String(i).padStart(20, '0')}`,
  broadcast: { id: 'bc_0123456789abcdef0123', index: i },
});

/** Sets per second into a fresh SQLite store: one awaited after another, and all in flight at once. */
const storeWriteRates = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-bench-store-'));
  const factory = await createStoreFactory({ dataDir: dir });
  try {
    const store = factory.namespace('messages');
    for (let i = 0; i < 100; i++) await store.set(`warm:${i}`, messageRecord(i));
    let t = performance.now();
    for (let i = 0; i < STORE_WRITES; i++) await store.set(`msg:${i}`, messageRecord(i));
    const sequential = STORE_WRITES / ((performance.now() - t) / 1000);
    t = performance.now();
    await Promise.all(Array.from({ length: STORE_WRITES }, (_, i) => store.set(`msg:c${i}`, messageRecord(i))));
    const concurrent = STORE_WRITES / ((performance.now() - t) / 1000);
    return { sequential, concurrent };
  } finally {
    await factory.close();
    await rm(dir, { recursive: true, force: true });
  }
};

/** The session's event stream: `completed(id)` resolves on the `broadcast` frame saying that broadcast completed. */
const watchBroadcasts = (s: Hashsend) => {
  const controller = new AbortController();
  const waiters = new Set<{ id: string; resolve: () => void }>();
  const connected = s
    .api(`/api/sessions/${SESSION}/events`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
    .then((res) => ok(res, 'events'));
  void connected.then(async (res) => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body!) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (!frame.includes('event: broadcast')) continue;
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          const b = JSON.parse(data!.slice(6)) as { id: string; status: string };
          if (b.status !== 'completed') continue;
          for (const w of waiters) if (w.id === b.id) (waiters.delete(w), w.resolve());
        }
      }
    } catch {
      // aborted at the end
    }
  });
  return {
    connected,
    completed: (id: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`broadcast ${id} not completed after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        waiters.add({ id, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    close: () => controller.abort(),
  };
};

interface Delivery {
  to: string;
  receivedAt: string;
  acknowledgedAt?: string;
  sendAttempts: number;
}

const deliveries = async (s: Hashsend) =>
  ((await (await ok(await s.api(`/api/sessions/${SESSION}/sandbox/deliveries`), 'deliveries')).json()) as { items: Delivery[] }).items;

/** One 1,000-recipient broadcast, pace off: msg/s from before the POST to the last delivery. */
const broadcastRun = async (s: Hashsend, events: ReturnType<typeof watchBroadcasts>, run: number) => {
  const to = phones(RECIPIENTS, run * RECIPIENTS);
  const body = {
    name: `bench ${run}`,
    recipients: to.map((p, i) => ({ to: p, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}: 20 % off everything in the shop this week' },
    pace: { perMinute: 0 },
  };
  const before = new Set((await deliveries(s)).map((d) => d.to));
  const started = Date.now();
  const res = await ok(await s.api(`/api/sessions/${SESSION}/broadcasts`, { method: 'POST', json: body }), 'create');
  const acceptedMs = Date.now() - started;
  const { id } = (await res.json()) as { id: string };
  await events.completed(id);
  const completedMs = Date.now() - started;
  const mine = (await deliveries(s)).filter((d) => !before.has(d.to));
  if (mine.length !== RECIPIENTS) throw new Error(`run ${run}: ${mine.length} of ${RECIPIENTS} recipients delivered`);
  const last = Math.max(...mine.map((d) => Date.parse(d.acknowledgedAt ?? d.receivedAt)));
  const seconds = (last - started) / 1000;
  const resent = mine.filter((d) => d.sendAttempts !== 1).length;
  console.log(
    `${run === 0 ? 'warm-up' : `run ${run}`}: 202 after ${acceptedMs} ms, last delivery after ${(seconds * 1000).toFixed(0)} ms, ` +
      `completed frame after ${completedMs} ms: ${(RECIPIENTS / seconds).toFixed(0)} msg/s` +
      (resent ? ` (${resent} sent more than once)` : ''),
  );
  return RECIPIENTS / seconds;
};

const status = (pid: number) => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
};

/** The 10,000-recipient CSV: accepted, then its report streamed; the server's RSS growth over both. */
const csvRun = async (s: Hashsend) => {
  const csv = ['to,name', ...phones(CSV_RECIPIENTS, 5_000_000).map((p, i) => `${p},Customer ${i}`)].join('\n') + '\n';
  const baseline = status(s.pid).rss;
  let resetHwm = true;
  try {
    // "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
    writeFileSync(`/proc/${s.pid}/clear_refs`, '5');
  } catch {
    resetHwm = false;
  }
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, status(s.pid).rss)), 10);
  try {
    const query = new URLSearchParams({ name: 'csv bench', text: 'Hello {{name}}', at: new Date(Date.now() + 3_600_000).toISOString() });
    let t = performance.now();
    const res = await ok(
      await s.api(`/api/sessions/${SESSION}/broadcasts?${query}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv }),
      'csv upload',
    );
    const created = (await res.json()) as { id: string; total: number };
    const acceptMs = performance.now() - t;
    if (created.total !== CSV_RECIPIENTS) throw new Error(`csv: ${created.total} recipients accepted`);
    t = performance.now();
    const report = await ok(await s.api(`/api/broadcasts/${created.id}/report?format=csv`), 'report');
    let lines = 0;
    for await (const chunk of report.body!) for (const byte of chunk as Uint8Array) if (byte === 10) lines++;
    const reportMs = performance.now() - t;
    if (lines !== CSV_RECIPIENTS + 1) throw new Error(`report: ${lines} lines`);
    const after = status(s.pid);
    peak = Math.max(peak, after.rss, resetHwm ? after.hwm : 0);
    return { acceptMs, reportMs, growth: peak - baseline, baseline, resetHwm, bytes: csv.length };
  } finally {
    clearInterval(sampler);
  }
};

const main = async () => {
  console.log(`dispatch: a warm-up and ${RUNS} runs of ${RECIPIENTS} recipients (pace off), load average ${loadavg()[0].toFixed(2)}`);
  const s = await startHashsend({ logLevel: 'warn', profile: 'dispatch' });
  try {
    await ok(await s.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'sandbox' } }), 'session');
    await ok(await s.api(`/api/sessions/${SESSION}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } }), 'link');
    const writes = await storeWriteRates();
    console.log(
      `store: ${writes.sequential.toFixed(0)} awaited sets/s one after another, ${writes.concurrent.toFixed(0)} sets/s all in flight`,
    );
    const events = watchBroadcasts(s);
    await events.connected;
    const rates: number[] = [];
    try {
      for (let run = 0; run <= RUNS; run++) {
        const rate = await broadcastRun(s, events, run);
        if (run > 0) rates.push(rate);
      }
    } finally {
      events.close();
    }
    const rate = median(rates);
    console.log(`broadcast: median ${rate.toFixed(0)} msg/s (goal >= 1000), ${(rate / writes.sequential).toFixed(2)}x awaited store sets`);

    const c = await csvRun(s);
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `csv: ${CSV_RECIPIENTS} recipients (${mb(c.bytes)} MB) accepted in ${c.acceptMs.toFixed(0)} ms, report streamed in ` +
        `${c.reportMs.toFixed(0)} ms; server RSS ${mb(c.baseline)} MB before, peak growth ${mb(c.growth)} MB (goal <= 64)` +
        (c.resetHwm ? '' : ' (VmHWM could not be reset: sampled VmRSS only)'),
    );
    printResult('dispatch', [
      {
        name: 'broadcast 1k, pace off',
        value: rate,
        unit: 'msg/s',
        baseline: 'awaited store sets',
        baselineValue: writes.sequential,
        goal: '>= 1000 msg/s',
      },
      { name: 'store sets, all in flight', value: writes.concurrent, unit: '/s' },
      { name: 'csv 10k accepted', value: c.acceptMs, unit: 'ms' },
      { name: 'csv 10k report streamed', value: c.reportMs, unit: 'ms' },
      { name: 'csv 10k peak RSS growth', value: c.growth / 2 ** 20, unit: 'MB', goal: '<= 64 MB' },
    ]);
  } catch (err) {
    console.error(s.output().slice(-3000));
    throw err;
  } finally {
    await s.stop();
  }
};

await main();
