import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainVerdict, readCacheSignals } from '../../src/media/cache-signals.js';

describe('reading a cache status word', () => {
  for (const [header, value, verdict] of [
    ['x-cache-status', 'REVALIDATED', 'hit'],
    ['x-cache-status', 'HIT', 'hit'],
    ['x-cache-status', 'STALE', 'hit'],
    ['x-cache-status', 'MISS', 'miss'],
    ['x-cache-status', 'EXPIRED', 'miss'],
    ['cf-cache-status', 'REVALIDATED', 'hit'],
    ['x-cache', 'MISS, REVALIDATED', 'hit'],
  ] as const) {
    it(`${header}: ${value} is a ${verdict}`, () => {
      assert.equal(readCacheSignals({ [header]: value }).cacheVerdict, verdict);
    });
  }
});

describe('a redirect chain', () => {
  it('is a hit when any hop is, a miss only when every hop is, else unknown', () => {
    assert.equal(chainVerdict([{ cacheVerdict: 'hit' }, { cacheVerdict: 'miss' }]), 'hit');
    assert.equal(chainVerdict([{ cacheVerdict: 'miss' }, { cacheVerdict: 'miss' }]), 'miss');
    assert.equal(chainVerdict([{ cacheVerdict: 'unknown' }, { cacheVerdict: 'miss' }]), 'unknown');
  });
});
