import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Fetcher } from '../../src/media/fetcher.js';
import type { FileOptions, Origin } from '../support/origin.js';
import { assertNoFile, content, fetchOpts, fileBytes, refusal, sha256, startFetchFixture, type FetchFixture } from './fetch-helpers.js';

const MB = 1024 * 1024;

let fx: FetchFixture;
let origin: Origin;
let fetcher: Fetcher;

before(async () => {
  fx = await startFetchFixture();
  ({ origin, fetcher } = fx);
});

after(() => fx?.stop());

let n = 0;
/** The requests the origin saw for one file during `run`, ranged or not. */
const requestsFor = async <T>(name: string, run: () => Promise<T>) => {
  const seen = origin.requests.length;
  const result = await run();
  return { result, requests: origin.requests.slice(seen).filter((r) => r.url.startsWith(`/${name}`)) };
};

describe('a download cut off mid-body never splices two versions', () => {
  it('a strong ETag, but the 206 comes from another version (the origin ignores If-Range): restarted from zero', async () => {
    const name = `splice-etag-${n++}.bin`;
    const [first, second] = [content(2 * MB), content(2 * MB)];
    origin.put(name, first, { ignoreIfRange: true });
    origin.dropAfter(name, MB, () => origin.put(name, second, { ignoreIfRange: true }));
    const path = fx.tmp.path();
    const { result: got, requests } = await requestsFor(name, () => fetcher.fetchFresh(`${origin.url}/${name}`, fetchOpts(path)));
    assert.equal(got.sha256, sha256(second), 'the whole of the second version, not a splice');
    assert.deepEqual(await fileBytes(path), second);
    const [, ranged, plainAgain] = requests;
    assert.ok(ranged.headers.range, 'a resume was tried on the strong ETag');
    assert.equal(ranged.status, 206);
    assert.equal(plainAgain.headers.range, undefined, 'then a plain GET from zero');
  });

  it('the same strong ETag but another total length in Content-Range: restarted from zero', async () => {
    const name = `splice-length-${n++}.bin`;
    const [first, second] = [content(2 * MB), content(3 * MB)];
    // An origin whose ETag does not change with the content (a fixed build id), so If-Range still matches.
    origin.put(name, first, { etag: '"build-7"' });
    origin.dropAfter(name, MB, () => origin.put(name, second, { etag: '"build-7"' }));
    const path = fx.tmp.path();
    const got = await fetcher.fetchFresh(`${origin.url}/${name}`, fetchOpts(path));
    assert.equal(got.sha256, sha256(second));
    assert.equal(got.size, second.length);
  });

  for (const [label, opts] of [
    ['only a weak ETag', { etag: 'W/"weak-7"', lastModified: false }],
    ['only Last-Modified', { etag: false }],
    ['no validator at all', { etag: false, lastModified: false }],
  ] as Array<[string, FileOptions]>) {
    it(`${label}: no Range request; the body starts again from zero with a plain GET`, async () => {
      const name = `restart-${n++}.bin`;
      const body = content(2 * MB);
      origin.put(name, body, opts);
      origin.dropAfter(name, MB);
      const path = fx.tmp.path();
      const { result: got, requests } = await requestsFor(name, () =>
        fetcher.fetchFresh(`${origin.url}/${name}`, fetchOpts(path, { expectedSha256: sha256(body) })),
      );
      assert.equal(got.sha256, sha256(body));
      assert.deepEqual(await fileBytes(path), body);
      assert.equal(requests.length, 2);
      assert.deepEqual(
        requests.map((r) => [r.headers.range, r.headers['if-range']]),
        [
          [undefined, undefined],
          [undefined, undefined],
        ],
      );
    });
  }
});

describe('an overall deadline per fetch', () => {
  it('a trickling origin (a byte at a time, never idle long enough to time out) ends in fetch_timeout naming the deadline', async () => {
    const name = `trickle-${n++}.bin`;
    origin.put(name, content(100));
    origin.trickle(name, 100);
    // Each byte comes well within the idle timeout; only the deadline can end this fetch.
    const patient = fx.fetcherWith({ media: { bodyTimeoutMs: 2000, fetchDeadlineMs: 500 } });
    const path = fx.tmp.path();
    const err = await refusal(patient.fetchFresh(`${origin.url}/${name}`, fetchOpts(path)), 'fetch_timeout', 504);
    assert.match(err.message, /500 ms deadline per fetch \(MEDIA_FETCH_DEADLINE_MS\)/);
    assert.equal(err.details?.deadlineMs, 500);
    assertNoFile(path);
    assert.ok(origin.bytesServed(name) < 100, 'the trickle was cut off, not read to its end');
  });
});
