/**
 * `npm run bench`: every bench script in bench/ (ingest, api, broadcast-media, … in name order), each in its own
 * `node --import tsx` process, one after another so they do not compete for the CPU. Their output is passed
 * through; at the end every figure a script reported on its `RESULT` line is printed beside its baseline.
 * Usage: `npm run bench [-- name…]` to run only some, e.g. `npm run bench -- api`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RESULT_PREFIX, type BenchResult, type Figure } from './result.js';

const HERE = import.meta.dirname;
const NOT_BENCHES = new Set(['run.ts', 'result.ts', 'hashsend.ts']);

const benches = async (only: string[]) =>
  (await readdir(HERE))
    .filter((f) => f.endsWith('.ts') && !f.startsWith('.') && !NOT_BENCHES.has(f))
    .filter((f) => only.length === 0 || only.includes(path.basename(f, '.ts')))
    .sort();

const run = async (file: string) => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, file)], {
    cwd: path.resolve(HERE, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const results: BenchResult[] = [];
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(RESULT_PREFIX)) results.push(JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchResult);
      else process.stdout.write(`${line}\n`);
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (buffered) process.stdout.write(`${buffered}\n`);
  return { code, results };
};

const num = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));

const describe = (f: Figure) => {
  const value = `${num(f.value)} ${f.unit}`;
  const beside =
    f.baseline && f.baselineValue !== undefined
      ? `  vs ${f.baseline} ${num(f.baselineValue)} ${f.unit} (${(f.value / f.baselineValue).toFixed(2)}x)`
      : '';
  return `${f.name.padEnd(32)} ${value.padStart(12)}${beside}${f.goal ? `  [goal ${f.goal}]` : ''}`;
};

const main = async () => {
  const files = await benches(process.argv.slice(2));
  const summary: string[] = [];
  let failed = false;
  for (const file of files) {
    console.log(`\n=== bench/${file}`);
    const { code, results } = await run(file);
    if (code !== 0) {
      failed = true;
      summary.push(`${file}: exited ${code}, no figures`);
      continue;
    }
    if (results.length === 0) summary.push(`${file}: (no RESULT line; see its output above)`);
    for (const r of results) for (const f of r.figures) summary.push(`${r.bench.padEnd(16)} ${describe(f)}`);
  }
  console.log('\n=== summary (printed, not asserted)');
  for (const line of summary) console.log(line);
  if (failed) process.exitCode = 1;
};

await main();
