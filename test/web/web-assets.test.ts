import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { webRoutes } from '../../src/http/routes/web.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** A page of three modules, entry → mid → leaf, served from its own folder. */
const page = async (leaf: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-web-'));
  await writeFile(join(dir, 'index.html'), '<html><head><script type="module" src="/entry.js"></script></head><body></body></html>');
  await writeFile(join(dir, 'entry.js'), "import { mid } from './mid.js';\nmid();\n");
  await writeFile(join(dir, 'mid.js'), "import './leaf.js';\nexport const mid = () => {};\n");
  await writeFile(join(dir, 'leaf.js'), leaf);
  return dir;
};

const serve = async (dir: string) => {
  const app = express().use(webRoutes({ dir }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  return { get, close: () => new Promise((resolve) => server.close(resolve)) };
};

describe('operator page modules', () => {
  const dirs: string[] = [];
  const made = async (leaf: string) => {
    const dir = await page(leaf);
    dirs.push(dir);
    return dir;
  };
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  let first: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    first = await serve(await made('export const leaf = 1;\n'));
  });
  after(() => first.close());

  it('pins every module the entry imports: by version in the import, by integrity in a modulepreload link', async () => {
    const html = (await first.get('/')).body.toString();
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="(\/(\w+)\.js\?v=[0-9a-f]{16})" integrity="sha256-([^"]+)">/g)];
    assert.deepEqual(preloads.map((m) => m[2]).sort(), ['leaf', 'mid'], 'the entry is a script tag; the rest are preloaded');
    for (const [, href, , integrity] of preloads) {
      const { res, body } = await first.get(href);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(sha256(body).toString('base64'), integrity, `${href} is the bytes its integrity names`);
    }
    const entry = html.match(/src="(\/entry\.js\?v=[0-9a-f]+)" integrity="sha256-([^"]+)"/);
    assert.ok(entry);
    const entryJs = (await first.get(entry[1])).body.toString();
    const midHref = preloads.find((m) => m[2] === 'mid')![1];
    assert.match(entryJs, new RegExp(`from '\\.${midHref.replace(/[?.]/g, '\\$&')}'`), 'the entry imports the preloaded URL itself');
  });

  it('changes the URL of every module that leads to a changed one, and of none other', async () => {
    const changed = await serve(await made('export const leaf = 2;\n'));
    try {
      const versions = async (s: typeof first) => {
        const html = (await s.get('/')).body.toString();
        return Object.fromEntries([...html.matchAll(/\/(\w+)\.js\?v=([0-9a-f]{16})/g)].map((m) => [m[1], m[2]]));
      };
      const [a, b] = await Promise.all([versions(first), versions(changed)]);
      for (const name of ['entry', 'mid', 'leaf']) assert.notEqual(a[name], b[name], `${name}.js has a new version`);
    } finally {
      await changed.close();
    }
    const same = await serve(await made('export const leaf = 1;\n'));
    try {
      assert.equal((await same.get('/')).body.toString(), (await first.get('/')).body.toString(), 'the same files, the same page');
    } finally {
      await same.close();
    }
  });

  it('refuses at start a module cycle or an import of a file it does not have', async () => {
    assert.doesNotThrow(() => webRoutes({ dir: dirs[0] }), 'the good page loads');
    const cyclic = await made("import './entry.js';\n");
    assert.throws(() => webRoutes({ dir: cyclic }), /cycle/);
    const missing = await made("import './nowhere.js';\n");
    assert.throws(() => webRoutes({ dir: missing }), /nowhere\.js/);
  });
});
