import type { Pace, QuietHours } from './types.js';

/**
 * The pace a broadcast gets when its caller sets none: 6 messages a minute, each gap 10 s ± 30 % at random.
 * New numbers that send faster, or at a machine-regular beat, are what WhatsApp's spam heuristics look for.
 */
export const DEFAULT_PACE: Pace = Object.freeze({ perMinute: 6, jitter: 0.3 });

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

/** The wait after one send before the next: the mean gap, varied by up to `jitter` of it either way. */
export const gapMs = ({ perMinute, jitter }: Pace, random: () => number = Math.random): number => {
  if (perMinute <= 0) return 0;
  const mean = MINUTE_MS / perMinute;
  const spread = Math.min(Math.max(jitter, 0), 1);
  return Math.max(0, Math.round(mean * (1 + spread * (2 * random() - 1))));
};

/** `HH:MM` as minutes after midnight. */
export const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

/** The local wall-clock time at `now` in `timezone`: minutes and milliseconds since local midnight. */
const localTime = (now: number, timezone: string) => {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(now));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const minutes = part('hour') * 60 + part('minute');
  return { minutes, msIntoDay: (minutes * 60 + part('second')) * 1000 + (now % 1000) };
};

/** Whether Intl knows the zone (`Europe/Berlin`, `UTC`); an unknown one throws a RangeError there. */
export const isTimeZone = (timezone: string) => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
};

/**
 * When the quiet hours that hold at `now` end (epoch ms), or undefined when `now` is outside them. The span may
 * cross midnight (22:00–07:00). Across a daylight-saving change the end can be an hour off; the caller looks again.
 */
export const quietUntil = (now: number, { start, end, timezone }: QuietHours): number | undefined => {
  const from = minutesOf(start);
  const to = minutesOf(end);
  if (from === to) return undefined;
  const { minutes, msIntoDay } = localTime(now, timezone);
  const inside = from < to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  if (!inside) return undefined;
  const endMsIntoDay = to * MINUTE_MS;
  const ahead = (endMsIntoDay - msIntoDay + DAY_MINUTES * MINUTE_MS) % (DAY_MINUTES * MINUTE_MS);
  return now + ahead;
};

/** The local day `now` falls in, for the daily cap: its start and the next day's start (epoch ms). */
export const localDay = (now: number, timezone = 'UTC') => {
  const start = now - localTime(now, timezone).msIntoDay;
  return { start, next: start + DAY_MINUTES * MINUTE_MS };
};

export interface DispatchState {
  now: number;
  /** When the broadcast is to start (epoch ms). */
  scheduledAt?: number;
  /** When the pace lets the next message go (epoch ms): the last send plus its drawn gap. */
  nextDueAt?: number;
  dailyCap?: number;
  /** Sends of this session's broadcasts since the start of the local day (`localDay(now).start`). */
  sentToday: number;
  quietHours?: QuietHours;
}

export type WaitReason = 'scheduled' | 'quiet_hours' | 'daily_cap' | 'pace';

export type DispatchDecision = { action: 'send' } | { action: 'wait'; until: number; reason: WaitReason };

/**
 * Whether the next recipient may be sent now, and if not, until when to wait and why. Checked in the order a
 * person would explain it: not started yet, the quiet hours, today's cap reached, then the pace.
 */
export const decideDispatch = ({ now, scheduledAt, nextDueAt, dailyCap, sentToday, quietHours }: DispatchState): DispatchDecision => {
  if (scheduledAt !== undefined && now < scheduledAt) return { action: 'wait', until: scheduledAt, reason: 'scheduled' };
  const quiet = quietHours && quietUntil(now, quietHours);
  if (quiet !== undefined) return { action: 'wait', until: quiet, reason: 'quiet_hours' };
  if (dailyCap !== undefined && sentToday >= dailyCap) {
    return { action: 'wait', until: localDay(now, quietHours?.timezone).next, reason: 'daily_cap' };
  }
  if (nextDueAt !== undefined && now < nextDueAt) return { action: 'wait', until: nextDueAt, reason: 'pace' };
  return { action: 'send' };
};
