import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOrigin, type Origin } from './support/origin.js';
import { startNginx, type RunningCache } from './support/caches.js';
import { makeJpeg } from './support/media-fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '..');

let origin: Origin;
let pathOnly: RunningCache;
let dir: string;
before(async () => {
  [origin, dir] = await Promise.all([startOrigin(), mkdtemp(path.join(tmpdir(), 'hashsend-cli-'))]);
  pathOnly = await startNginx(origin.url, 'path');
});
after(async () => {
  await Promise.all([origin?.close(), pathOnly?.stop(), dir && rm(dir, { recursive: true, force: true })]);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/hashsend.js …` as a user runs it, with loopback allowed, a temp DATA_DIR and any `env` on top. */
const hashsendWith = (env: Record<string, string>, ...args: string[]) =>
  new Promise<Run>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/hashsend.js'), ...args],
      {
        cwd: dir,
        timeout: 15_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          MEDIA_ALLOW_HOSTS: '127.0.0.1',
          DATA_DIR: path.join(dir, 'data'),
          MEDIA_BODY_TIMEOUT_MS: '2000',
          ...env,
        },
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });

const hashsend = (...args: string[]) => hashsendWith({}, ...args);

/** The table's row for one check (its mark, name and detail), with the detail's wrapped lines joined back. */
const row = (table: string, check: string) => {
  const lines = table.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\S+\\s+${check}\\s{2,}`).test(l));
  assert.ok(at >= 0, `no "${check}" row in:\n${table}`);
  const rest = lines.slice(at + 1);
  const continued = rest.slice(
    0,
    Math.max(
      0,
      rest.findIndex((l) => !/^\s+\S/.test(l)),
    ),
  );
  return [lines[at], ...continued.map((l) => l.trim())].join(' ');
};

test('check on a good URL: exit 0 and a table a person can read', async () => {
  const photo = await makeJpeg({ seed: 1, width: 40, height: 30 });
  origin.put('banner.3f9a1c2e.jpg', photo, { contentType: 'image/jpeg', cacheControl: 'public, max-age=300' });
  const url = `${origin.url}/banner.3f9a1c2e.jpg`;
  const run = await hashsend('check', url, '--sha256', sha(photo));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const out = run.stdout;
  assert.ok(out.startsWith(url), out);
  assert.match(row(out, 'fetch'), /^ok\s.*HTTP 200/);
  assert.match(row(out, 'content type'), /image\/jpeg/);
  assert.match(row(out, 'size'), new RegExp(`^ok\\s+size\\s+.*\\b${photo.length} bytes\\)?, within the image limit of 5 MB`));
  assert.match(row(out, 'cache-control'), /public, max-age=300/);
  assert.match(row(out, 'validators'), /ETag "/);
  assert.match(row(out, 'ranges'), /^ok\s.*bytes/);
  assert.match(row(out, 'cache busting'), /^ok\s.*reaches the origin/);
  assert.match(row(out, 'versioning'), /^ok\s/);
  assert.ok(out.includes(sha(photo)), 'the sha256 is shown');
  assert.match(out, /\n\nwould send: image \(image\/jpeg, [\d.]+ (bytes|KB)\)\n$/);
  assert.doesNotMatch(out, /would NOT send|FAIL|WARN/);
  assert.equal(run.stderr, '', 'nothing on stderr when all is well');
  // Rows line up: the mark, the check's name, then its detail, all in the same columns.
  const detailColumn = row(out, 'fetch').indexOf('HTTP');
  for (const check of ['content type', 'cache busting', 'versioning'])
    assert.equal(row(out, check).indexOf(check) + check.length + 2 <= detailColumn, true);
  for (const line of out.split('\n'))
    assert.ok(line.length <= 100 || !line.slice(0, 100).includes(' ', 30), `line too long to read: ${line}`);
});

test('check --json: one JSON document for scripts, with wouldSend and the findings', async () => {
  const photo = await makeJpeg({ seed: 2 });
  origin.put('label.jpg', photo, { contentType: 'binary/octet-stream' });
  const run = await hashsend('check', `${origin.url}/label.jpg`, '--json');
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as {
    wouldSend: boolean;
    sha256: string;
    mimetype: string;
    declaredMimetype: string;
    items: { check: string; status: string }[];
  };
  assert.equal(report.wouldSend, true);
  assert.equal(report.sha256, sha(photo));
  assert.deepEqual([report.mimetype, report.declaredMimetype], ['image/jpeg', 'binary/octet-stream']);
  assert.equal(report.items.find((i) => i.check === 'content type')?.status, 'warn', 'a mislabelled type is worth a warning');
  assert.equal(report.items.find((i) => i.check === 'versioning')?.status, 'info');
});

test('check on a stale URL behind a cache keyed on the path alone: exit 1, and the table says why', async () => {
  origin.put('menu.jpg', await makeJpeg({ seed: 3 }), { contentType: 'image/jpeg' });
  const url = `${pathOnly.url}/menu.jpg`;
  assert.equal((await fetch(url)).status, 200, 'warms the cache');
  const fresh = await makeJpeg({ seed: 4 });
  origin.put('menu.jpg', fresh, { contentType: 'image/jpeg' });

  const run = await hashsend('check', url, '--sha256', sha(fresh));
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(row(run.stdout, 'fetch'), /^FAIL\s.*stale_media/);
  assert.match(row(run.stdout, 'cache signals'), /HIT/);
  assert.match(row(run.stdout, 'cache busting'), /^FAIL\s.*query string.*path/);
  assert.match(run.stdout, /would NOT send: stale_media\n$/);
  assert.equal(run.stderr, '', 'the table says it all; no log lines on stderr');
  // The long refusal wraps under its own column rather than running off the terminal.
  for (const line of run.stdout.split('\n')) assert.ok(line.length <= 100, `line too long to read: ${line}`);

  const json = await hashsend('check', url, '--json');
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { wouldSend: boolean }).wouldSend, false);
});

test('hash <file>: the sha256 and a versioned file name', async () => {
  const bytes = Buffer.from('a banner, version 2\n');
  const file = path.join(dir, 'banner.jpg');
  await writeFile(file, bytes);
  const run = await hashsend('hash', file);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stdout.includes(sha(bytes)), run.stdout);
  assert.ok(run.stdout.includes(`banner.${sha(bytes).slice(0, 8)}.jpg`), run.stdout);
});

test('bad usage: exit 2 with the usage text on stderr', async () => {
  for (const args of [['check'], ['check', 'a', 'b'], ['hash'], ['frobnicate'], ['check', `${origin.url}/x`, '--colour']]) {
    const run = await hashsend(...args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, /usage:/, args.join(' '));
    assert.match(run.stderr, /hashsend check <url>/);
  }
  const missing = await hashsend('hash', path.join(dir, 'nope.jpg'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
  const help = await hashsend('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage:/);
});

test('serve on a port already in use: one clear line and a non-zero exit, not a stack trace', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  try {
    const run = await hashsendWith(
      { PORT: String(port), HOST: '127.0.0.1', API_KEY: 'test-key-0123456789', SESSIONS_DIR: path.join(dir, 'sessions') },
      'serve',
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^hashsend: PORT ${port} is already in use`, 'm'));
    assert.doesNotMatch(run.stderr, /TypeError|at serve|Cannot destructure/);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});
