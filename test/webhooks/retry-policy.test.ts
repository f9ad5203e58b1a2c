import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRetry } from '../../src/webhooks/retry-policy.ts';

test('retries: full jitter below a doubling ceiling, capped; dead once the next attempt falls past the period', () => {
  const retry = { baseMs: 1000, maxMs: 60_000, periodMs: 3_600_000 };
  const at = (attempts: number, random: number) => decideRetry({ attempts, firstAttemptAt: 0, now: 0 }, { ...retry, random: () => random });
  assert.deepEqual(at(1, 0), { action: 'retry', delayMs: 0 });
  assert.deepEqual(at(1, 0.999), { action: 'retry', delayMs: 999 });
  assert.deepEqual(at(3, 0.5), { action: 'retry', delayMs: 2000 });
  assert.deepEqual(at(40, 0.999), { action: 'retry', delayMs: 59_940 });
  assert.deepEqual(at(10_000, 0.5), { action: 'retry', delayMs: 30_000 });
  const late = { attempts: 5, firstAttemptAt: 0, now: 3_590_000 };
  assert.deepEqual(decideRetry(late, { ...retry, random: () => 0.5 }), { action: 'retry', delayMs: 8000 });
  assert.deepEqual(decideRetry(late, { ...retry, random: () => 0.9 }), { action: 'dead' });
  assert.deepEqual(decideRetry({ attempts: 1, firstAttemptAt: 0, now: 3_600_001 }, { ...retry, random: () => 0 }), { action: 'dead' });
});
