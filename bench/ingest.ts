/**
 * Ingest benchmark: a 200 MB file from a loopback origin, fetched by hashsend's fetcher (streamed to a temp
 * file while hashed) and by `curl -s -o` in the same run. Prints MB/s for each, the ratio, and the peak RSS
 * growth of this process while the fetcher ran. Goal: ≥ 0.9× curl, ≤ 64 MB growth. Printed, not asserted.
 *
 * The origin runs in a child process (`--serve <file>`), so that it does not share our event loop.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.js';
import { createFetcher } from '../src/media/fetcher.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
const ROUNDS = 5;

const serve = async (file: string) => {
  const { size } = await stat(file);
  const server = createServer((_req, res) => {
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

const curl = async (url: string, out: string) => {
  const started = performance.now();
  const child = spawn('curl', ['-s', '-o', out, url], { stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`curl exited ${code}`);
  return performance.now() - started;
};

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
      maxRedirects: 5,
      cacheBustParam: '_hsfresh',
      publicMedia: false,
    },
    proxy: { bypassOnStale: false },
    log: createLogger('silent'),
  });

  const ours = async () => {
    global.gc?.();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
    const started = performance.now();
    await fetcher.fetchFresh(origin.url, { tmpPath: join(dir, 'ours.bin'), maxBytesFor: () => SIZE });
    const ms = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    await rm(join(dir, 'ours.bin'));
    return { ms, growth: peak - baseline };
  };

  try {
    await curl(origin.url, join(dir, 'warm.bin')); // page cache and origin warmed alike for both
    const oursMs: number[] = [];
    const curlMs: number[] = [];
    let growth = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const run = await ours();
      oursMs.push(run.ms);
      growth = Math.max(growth, run.growth);
      curlMs.push(await curl(origin.url, join(dir, 'curl.bin')));
      await rm(join(dir, 'curl.bin'));
    }
    const best = (xs: number[]) => Math.min(...xs);
    const mbps = (ms: number) => SIZE / MB / (ms / 1000);
    const [o, c] = [mbps(best(oursMs)), mbps(best(curlMs))];
    console.log(`file: ${SIZE / MB} MB from a loopback origin (child process), best of ${ROUNDS}`);
    console.log(`hashsend fetchFresh (stream to temp file + sha256): ${o.toFixed(0)} MB/s  [${oursMs.map((m) => m.toFixed(0)).join(', ')} ms]`);
    console.log(`curl -s -o:                                        ${c.toFixed(0)} MB/s  [${curlMs.map((m) => m.toFixed(0)).join(', ')} ms]`);
    console.log(`ratio ours/curl: ${(o / c).toFixed(2)}x (goal >= 0.9x)`);
    console.log(`peak RSS growth during our ingest: ${(growth / MB).toFixed(1)} MB (goal <= 64 MB)`);
  } finally {
    await fetcher.close();
    origin.stop();
    await rm(dir, { recursive: true, force: true });
  }
};

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else await main();
