import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDispatch, DEFAULT_PACE, gapMs, localDay, quietUntil, type DispatchState } from '../../src/broadcasts/pace-policy.js';
import { decidePause, INITIAL_PAUSE_STATE, type PauseState, type SendOutcome } from '../../src/broadcasts/pause-policy.js';
import type { Pace, QuietHours } from '../../src/broadcasts/types.js';

/** A seeded random source (mulberry32): the same draws on every run. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/**
 * Runs the dispatch policy on a virtual clock, as the runner does (decide; send or wait until told; draw the next
 * gap after each send), and records the send times. No sleeps: the clock jumps to each `until`.
 */
const simulate = (o: { start: number; sends: number; pace?: Pace; dailyCap?: number; quietHours?: QuietHours; scheduledAt?: number }) => {
  const random = seeded(7);
  const sent: number[] = [];
  let now = o.start;
  let nextDueAt: number | undefined;
  while (sent.length < o.sends) {
    const day = localDay(now, o.quietHours?.timezone).start;
    const state: DispatchState = {
      now,
      scheduledAt: o.scheduledAt,
      nextDueAt,
      dailyCap: o.dailyCap,
      sentToday: sent.filter((t) => t >= day).length,
      quietHours: o.quietHours,
    };
    const d = decideDispatch(state);
    if (d.action === 'wait') {
      assert.ok(d.until > now, `a wait moves time forward (${d.reason})`);
      now = d.until;
      continue;
    }
    sent.push(now);
    nextDueAt = o.pace ? now + gapMs(o.pace, random) : undefined;
  }
  return sent;
};

const at = (iso: string) => Date.parse(iso);
const berlinTime = (t: number) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).format(t);

describe('pacing', () => {
  test('the default pace: gaps of 10 s ± 30 %, spread across that range', () => {
    const sent = simulate({ start: at('2025-03-03T09:00:00Z'), sends: 200, pace: DEFAULT_PACE });
    const gaps = sent.slice(1).map((t, i) => t - sent[i]);
    for (const g of gaps) assert.ok(g >= 7000 && g <= 13_000, `gap ${g}`);
    // Jitter, not a metronome: both halves of the range are used.
    assert.ok(gaps.some((g) => g < 9000) && gaps.some((g) => g > 11_000));
    const mean = gaps.reduce((a, b) => a + b) / gaps.length;
    assert.ok(Math.abs(mean - 10_000) < 600, `mean gap ${mean}`);
  });

  test('perMinute 0 is no pacing; jitter 0 is an even beat', () => {
    assert.equal(gapMs({ perMinute: 0, jitter: 0.3 }), 0);
    const even = simulate({ start: 0, sends: 5, pace: { perMinute: 120, jitter: 0 } });
    assert.deepEqual(even, [0, 500, 1000, 1500, 2000]);
    assert.deepEqual(simulate({ start: 0, sends: 3 }), [0, 0, 0]);
  });

  test('nothing before the schedule', () => {
    const sent = simulate({
      start: at('2025-03-03T09:00:00Z'),
      scheduledAt: at('2025-03-03T12:00:00Z'),
      sends: 2,
      pace: { perMinute: 60, jitter: 0 },
    });
    assert.deepEqual(sent, [at('2025-03-03T12:00:00Z'), at('2025-03-03T12:00:01Z')]);
  });
});

describe('daily cap and quiet hours', () => {
  test('the cap holds per local day: the rest waits for the next day', () => {
    const quietHours = { start: '00:00', end: '00:00', timezone: 'Europe/Berlin' };
    const sent = simulate({ start: at('2025-03-03T20:00:00Z'), sends: 25, dailyCap: 10, pace: { perMinute: 60, jitter: 0.2 }, quietHours });
    const perDay = new Map<string, number>();
    for (const t of sent) {
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(t);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    assert.deepEqual([...perDay.values()], [10, 10, 5]);
    // The 11th went out at the next local midnight, not before.
    assert.equal(berlinTime(sent[10]), '00:00');
  });

  test('no send inside quiet hours across midnight; the broadcast waits for their end', () => {
    const quietHours = { start: '21:00', end: '08:30', timezone: 'Europe/Berlin' };
    const sent = simulate({ start: at('2025-03-03T19:58:00Z'), sends: 30, pace: { perMinute: 2, jitter: 0.3 }, quietHours });
    for (const t of sent) {
      const hm = berlinTime(t);
      assert.ok(hm >= '08:30' && hm < '21:00', `sent at ${hm}`);
    }
    assert.equal(berlinTime(sent.find((t) => t > at('2025-03-03T20:00:00Z'))!), '08:30');
  });

  test('quietUntil: inside, outside, and a span within one day', () => {
    const q = { start: '12:00', end: '13:00', timezone: 'UTC' };
    assert.equal(quietUntil(at('2025-01-01T12:30:00Z'), q), at('2025-01-01T13:00:00Z'));
    assert.equal(quietUntil(at('2025-01-01T13:00:00Z'), q), undefined);
    assert.equal(quietUntil(at('2025-01-01T11:59:59Z'), q), undefined);
  });
});

describe('auto-pause', () => {
  const run = (outcomes: SendOutcome[]) => {
    let state: PauseState = INITIAL_PAUSE_STATE;
    for (const [i, o] of outcomes.entries()) {
      const d = decidePause(o, state);
      if (d.action === 'pause') return { at: i, code: d.reason.code };
      state = d.state;
    }
    return { state };
  };
  const failed = (code = 'send_failed'): SendOutcome => ({ kind: 'failed', code });

  test('five failures in a row pause; a success between them resets the run', () => {
    assert.deepEqual(run([failed(), failed(), failed(), failed(), failed()]), { at: 4, code: 'too_many_failures' });
    assert.deepEqual(run([failed(), failed(), failed(), failed(), { kind: 'sent' }, failed()]), { state: { failuresInARow: 1 } });
  });

  test('a rate-limit code, a logged-out, conflicting or unlinked session pause at once; a reconnect does not', () => {
    assert.deepEqual(run([failed('rate_overlimit')]), { at: 0, code: 'rate_limited' });
    assert.deepEqual(run([{ kind: 'session', state: 'logged_out' }]), { at: 0, code: 'session_logged_out' });
    assert.deepEqual(run([{ kind: 'session', state: 'conflict' }]), { at: 0, code: 'session_conflict' });
    assert.deepEqual(run([{ kind: 'session', state: 'needs_relink' }]), { at: 0, code: 'session_needs_relink' });
    assert.deepEqual(run([{ kind: 'session', state: 'reconnecting' }]), { state: { failuresInARow: 0 } });
  });
});
