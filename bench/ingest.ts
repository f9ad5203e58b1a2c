/**
 * Ingest benchmark: a 200 MB file from a loopback origin, fetched by hashsend's fetcher (streamed to a temp
 * file while hashed) and by `curl -s -o` in the same run, rounds interleaved. A second baseline pipes curl
 * through `tee` into `sha256sum`, since we hash too. A third row reads the body with undici (the handler API
 * we use) and drops it: how fast any undici-based ingest could go here before it hashes or writes a byte.
 * Prints MB/s (best and median) for each, the ratios, our CPU time and the peak RSS growth of this process
 * while the fetcher ran. Goal: ≥ 0.9× curl -o, ≤ 64 MB growth.
 * Printed, not asserted; the last line is a `RESULT {json}` for bench/run.ts.
 *
 * The origin runs in a child process (`--serve <file>`), so that it does not share our event loop.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { createLogger } from '../src/log.js';
import { createFetcher } from '../src/media/fetcher.js';
import { printResult, type Figure } from './result.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
const ROUNDS = 7;

const serve = async (file: string) => {
  const { size } = await stat(file);
  const server = createServer((req, res) => {
    // The fetcher confirms an answer without cache signals with a conditional request: unchanged, it costs a 304.
    if (req.headers['if-none-match'] === '"bench"') return void res.writeHead(304, { etag: '"bench"' }).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, etag: '"bench"' });
    createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(res);
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
};

const writeRandomFile = async (path: string) => {
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(8 * MB);
  for (let written = 0; written < SIZE; written += chunk.length) {
    randomFillSync(chunk);
    if (!out.write(Buffer.from(chunk))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
};

const startOriginChild = async (file: string) => {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}/file.bin`, stop: () => child.kill('SIGTERM') };
};

/** Runs a command to completion and returns its wall time in ms. */
const timed = async (command: string, args: string[]) => {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${command} exited ${code}`);
  return performance.now() - started;
};

/**
 * Peak RSS growth from now on. Linux keeps the high-water mark (VmHWM) and resets it on request, which costs
 * nothing while the fetch runs; elsewhere RSS is sampled, which costs some CPU and can miss a short peak.
 */
const peakRss = async () => {
  const baseline = process.memoryUsage.rss();
  try {
    await writeFile('/proc/self/clear_refs', '5');
    return {
      growth: async () => {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
        if (!hwm) throw new Error('no VmHWM in /proc/self/status');
        return Number(hwm[1]) * 1024 - baseline;
      },
    };
  } catch {
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    return {
      growth: async () => {
        clearInterval(sampler);
        return Math.max(peak, process.memoryUsage.rss()) - baseline;
      },
    };
  }
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const best = (xs: number[]) => Math.min(...xs);
const mbps = (ms: number) => SIZE / MB / (ms / 1000);
const list = (xs: number[]) => xs.map((m) => m.toFixed(0)).join(', ');

const main = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-bench-'));
  const source = join(dir, 'source.bin');
  await writeRandomFile(source);
  const origin = await startOriginChild(source);
  const fetcher = createFetcher({
    media: {
      allowHosts: ['127.0.0.1'],
      maxBytes: { image: SIZE, video: SIZE, audio: SIZE, sticker: SIZE, animatedSticker: SIZE, document: SIZE },
      connectTimeoutMs: 5000,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      fetchDeadlineMs: 600_000,
      requireVerified: false,
      maxRedirects: 5,
      cacheBustParam: '_hsfresh',
      publicMedia: false,
    },
    proxy: { bypassOnStale: false },
    log: createLogger('silent'),
  });

  const ours = async () => {
    global.gc?.();
    const peak = await peakRss();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await fetcher.fetchFresh(origin.url, { tmpPath: join(dir, 'ours.bin'), maxBytesFor: () => SIZE });
    const ms = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    const growth = await peak.growth();
    await rm(join(dir, 'ours.bin'));
    return { ms, cpuMs: (user + system) / 1000, growth };
  };
  const undiciAgent = new Agent();
  const undiciDropped = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      undiciAgent.dispatch(
        { origin: new URL(origin.url).origin, path: '/file.bin', method: 'GET' },
        {
          onRequestStart: () => undefined, // marks the handler API, so undici does not ask for the older one
          onResponseEnd: () => resolve(performance.now() - started),
          onResponseError: (_controller, err) => reject(err),
        },
      );
    });
  const curlOut = async () => {
    const ms = await timed('curl', ['-s', '-o', join(dir, 'curl.bin'), origin.url]);
    await rm(join(dir, 'curl.bin'));
    return ms;
  };
  const curlHashed = async () => {
    const pipe = 'set -o pipefail; curl -s "$1" | tee "$2" | sha256sum >/dev/null';
    const ms = await timed('bash', ['-c', pipe, 'bench', origin.url, join(dir, 'curl-sha.bin')]);
    await rm(join(dir, 'curl-sha.bin'));
    return ms;
  };

  try {
    await curlOut(); // page cache and origin warmed alike for all
    const oursMs: number[] = [];
    const cpuMs: number[] = [];
    const curlMs: number[] = [];
    const curlShaMs: number[] = [];
    const undiciMs: number[] = [];
    let growth = 0;
    const steps = [
      async () => {
        const run = await ours();
        oursMs.push(run.ms);
        cpuMs.push(run.cpuMs);
        growth = Math.max(growth, run.growth);
      },
      async () => void curlMs.push(await curlOut()),
      async () => void curlShaMs.push(await curlHashed()),
      async () => void undiciMs.push(await undiciDropped()),
    ];
    // The order turns each round, so that none always follows the CPU-heavy sha256sum pipeline.
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]();
    }
    const ratio = (a: number[], b: number[], pick: (xs: number[]) => number) => mbps(pick(a)) / mbps(pick(b));
    const [load1] = loadavg();
    console.log(
      `file: ${SIZE / MB} MB from a loopback origin (child process), ${ROUNDS} interleaved rounds, load average ${load1.toFixed(2)}`,
    );
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(48)} best ${mbps(best(xs)).toFixed(0).padStart(4)} MB/s, median ${mbps(median(xs)).toFixed(0).padStart(4)} MB/s  [${list(xs)} ms]`,
      );
    row('hashsend fetchFresh (temp file + sha256):', oursMs);
    row('curl -s -o:', curlMs);
    row('curl -s | tee file | sha256sum:', curlShaMs);
    row('undici, body dropped (our ceiling):', undiciMs);
    console.log(
      `ratio ours/curl -o:            best ${ratio(oursMs, curlMs, best).toFixed(2)}x, median ${ratio(oursMs, curlMs, median).toFixed(2)}x (goal >= 0.9x)`,
    );
    console.log(
      `ratio undici alone/curl -o:    best ${ratio(undiciMs, curlMs, best).toFixed(2)}x, median ${ratio(undiciMs, curlMs, median).toFixed(2)}x`,
    );
    console.log(
      `ratio ours/curl|tee|sha256sum: best ${ratio(oursMs, curlShaMs, best).toFixed(2)}x, median ${ratio(oursMs, curlShaMs, median).toFixed(2)}x`,
    );
    console.log(`our CPU time (user+sys, all threads) per fetch: median ${median(cpuMs).toFixed(0)} ms`);
    console.log(`peak RSS growth during our ingest: ${(growth / MB).toFixed(1)} MB (goal <= 64 MB)`);
    const figures: Figure[] = [
      {
        name: 'ingest speed (median)',
        value: mbps(median(oursMs)),
        unit: 'MB/s',
        baseline: 'curl -o',
        baselineValue: mbps(median(curlMs)),
        goal: '>= 0.9x',
      },
      {
        name: 'ingest speed (best)',
        value: mbps(best(oursMs)),
        unit: 'MB/s',
        baseline: 'curl -o',
        baselineValue: mbps(best(curlMs)),
        goal: '>= 0.9x',
      },
      {
        name: 'ingest speed (median)',
        value: mbps(median(oursMs)),
        unit: 'MB/s',
        baseline: 'curl|tee|sha256sum',
        baselineValue: mbps(median(curlShaMs)),
      },
      { name: 'ingest peak RSS growth', value: growth / MB, unit: 'MB', goal: '<= 64 MB' },
    ];
    printResult('ingest', figures);
  } finally {
    await Promise.all([fetcher.close(), undiciAgent.close()]);
    origin.stop();
    await rm(dir, { recursive: true, force: true });
  }
};

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else await main();
