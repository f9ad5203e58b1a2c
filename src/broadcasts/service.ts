import { randomBytes } from 'node:crypto';
import { HashsendError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { HashsendEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { MessageInput, MessageService } from '../messages/service.js';
import { KeyedQueue } from '../lib/keyed-queue.js';
import { DEFAULT_PACE, isTimeZone } from './pace-policy.js';
import { decidePause, INITIAL_PAUSE_STATE, type PauseState, type SendOutcome } from './pause-policy.js';
import { createOptOutScreen, type BroadcastOptOuts } from './opt-outs.js';
import { createProgressTracker } from './progress.js';
import { listRecipients, type ListedRecipients, type RecipientInput } from './recipients.js';
import { localPacing, type PacingSource } from './pacing.js';
import { startRunner, type Runner } from './runner.js';
import type { BroadcastStore } from './store.js';
import { personalise, textsOf } from './template.js';
import type { Broadcast, BroadcastRecipient, BroadcastStatus, Pace, QuietHours } from './types.js';
import { broadcastView, type BroadcastView } from './view.js';

export interface CreateBroadcastInput {
  name: string;
  recipients: RecipientInput[];
  message: MessageInput;
  schedule?: { at: string };
  /** Absent: DEFAULT_PACE. `perMinute: 0`: no pacing. */
  pace?: { perMinute: number; jitter?: number };
  dailyCap?: number;
  quietHours?: QuietHours;
}

export type CreatedBroadcast = BroadcastView & Pick<ListedRecipients, 'duplicates' | 'invalid'>;

export interface BroadcastServiceOptions {
  store: BroadcastStore;
  messages: Pick<MessageService, 'compose' | 'enqueue'>;
  /** The sessions' suppression lists: a number on one is skipped (`opted_out`), at creation and again at its turn. */
  optOuts: BroadcastOptOuts;
  /** Throws `session_not_found` for an unknown session. */
  requireSession(id: string): void;
  events: EventBus<HashsendEvent>;
  log: Logger;
  /** @default Date.now */
  clock?: () => number;
  /** @default Math.random */
  random?: () => number;
  /** Messages of an unpaced broadcast waiting in the outbox at most. @default 64 */
  window?: number;
  /** Progress events per broadcast at most once in this many ms (a change of status goes at once). @default 250 */
  progressIntervalMs?: number;
  /** Failed attempts in a row that pause a broadcast. @default 5 */
  maxFailuresInARow?: number;
  /**
   * Whether this node runs the session's broadcasts (on several nodes: it owns the session). Another node's runs
   * start at `adoptSession`, or when a broadcast event from another node shows one created or resumed. @default always
   */
  runsHere?: (sessionId: string) => boolean;
  /** Where paces, daily counts and due times are kept. @default in this process (src/broadcasts/pacing.ts) */
  pacing?: PacingSource;
}

const notFound = (id: string) => new HashsendError('broadcast_not_found', 404, `no broadcast "${id.slice(0, 64)}"`);
const ACTIVE: BroadcastStatus[] = ['scheduled', 'running'];

/** Broadcasts: created pinned to one composed message, dispatched by a runner each, tracked from message events. */
export const createBroadcastService = ({
  store,
  messages,
  optOuts,
  requireSession,
  events,
  log: parentLog,
  clock = Date.now,
  random = Math.random,
  window = 64,
  progressIntervalMs = 250,
  maxFailuresInARow = 5,
  runsHere = () => true,
  pacing = localPacing({ store, clock, random }),
}: BroadcastServiceOptions) => {
  const log = parentLog.child({ component: 'broadcasts' });
  const runners = new Map<string, Runner>();
  const sessionOf = new Map<string, string>();
  const pauseStates = new Map<string, PauseState>();
  const ops = new KeyedQueue();
  const iso = (ms = clock()) => new Date(ms).toISOString();

  const load = async (id: string) => (await store.get(id)) ?? Promise.reject(notFound(id));
  const view = async (b: Broadcast) => broadcastView(b, await store.counts(b.id), clock());
  const publish = async (b: Broadcast) => events.publish({ type: 'broadcast', broadcast: await view(b) });

  /** Status changes of one broadcast run one at a time; each is published at once. */
  const transition = (id: string, change: (b: Broadcast) => Partial<Broadcast> | undefined) =>
    ops.run(id, async () => {
      const b = await load(id);
      const patch = change(b);
      if (!patch) return b;
      const next = { ...b, ...patch, updatedAt: iso() };
      await store.update(id, { ...patch, updatedAt: next.updatedAt });
      await publish(next);
      return next;
    });

  const stopRunner = async (id: string) => {
    const r = runners.get(id);
    runners.delete(id);
    sessionOf.delete(id);
    await r?.stop();
  };

  const complete = (id: string) =>
    transition(id, (b) => (ACTIVE.includes(b.status) ? { status: 'completed', finishedAt: iso() } : undefined)).then(() => stopRunner(id));

  /** Publishes progress at most once per interval per broadcast; completes one whose last message has finished. */
  const throttled = new Map<string, { timer: NodeJS.Timeout; dirty: boolean }>();
  const report = async (id: string) => {
    const b = await store.get(id);
    if (!b) return;
    const counts = await store.counts(id);
    // A scheduled one can be done before its time: everyone on it had opted out.
    if (ACTIVE.includes(b.status) && counts.pending + counts.queued === 0) return void (await complete(id));
    events.publish({ type: 'broadcast', broadcast: broadcastView(b, counts, clock()) });
  };
  const changed = (id: string) => {
    const t = throttled.get(id);
    if (t) return void (t.dirty = true);
    const fire = () => {
      const entry = { dirty: false, timer: setTimeout(() => (entry.dirty ? fire() : throttled.delete(id)), progressIntervalMs) };
      throttled.set(id, entry);
      report(id).catch((err: unknown) => log.error({ err, broadcastId: id }, 'broadcast progress not published'));
    };
    fire();
  };

  const autoPause = (id: string, outcome: SendOutcome) => {
    if (!runners.has(id)) return;
    const decision = decidePause(outcome, pauseStates.get(id) ?? INITIAL_PAUSE_STATE, { maxFailuresInARow });
    if (decision.action === 'continue') return void pauseStates.set(id, decision.state);
    log.warn({ broadcastId: id, reason: decision.reason }, 'broadcast paused automatically');
    pause(id, decision.reason).catch((err: unknown) => log.error({ err, broadcastId: id }, 'broadcast could not be paused'));
  };

  const screen = createOptOutScreen({ optOuts, store, changed });
  const progress = createProgressTracker({
    store,
    log,
    changed,
    finished: (id, index) => runners.get(id)?.finished(index),
    outcome: autoPause,
  });

  const run = (b: Broadcast) => {
    if (runners.has(b.id) || !runsHere(b.sessionId)) return;
    pauseStates.delete(b.id);
    const runner = startRunner(b, {
      store,
      clock,
      log,
      pacing: pacing.for(b, () => runners.get(b.id)?.tick()),
      window,
      async enqueue(bc: Broadcast, r: BroadcastRecipient) {
        const content = personalise(bc.content, r.vars);
        const record = await messages.enqueue(
          bc.sessionId,
          r.to,
          { content, ...(bc.media ? { media: bc.media } : {}) },
          { idempotency: { key: `broadcast:${bc.id}:${r.index}`, fingerprint: bc.id }, broadcast: { id: bc.id, index: r.index } },
        );
        // A repeat after a restart publishes no event: its recipient is brought up to date from the record.
        progress.apply(record);
        return record;
      },
      skipIfOptedOut: screen.atTurn,
      started: (bc) =>
        transition(bc.id, (x) => (x.status === 'scheduled' ? { status: 'running', startedAt: iso() } : undefined)).then(() => undefined),
      drained: (bc) => changed(bc.id),
    });
    runners.set(b.id, runner);
    sessionOf.set(b.id, b.sessionId);
  };

  const pause = (id: string, reason = { code: 'paused', message: 'paused by the operator' }) =>
    transition(id, (b) => (ACTIVE.includes(b.status) ? { status: 'paused', pausedReason: reason } : undefined)).then(async (b) => {
      await stopRunner(id);
      return b;
    });

  const ofSession = (sessionId: string) => [...sessionOf].filter(([, s]) => s === sessionId).map(([id]) => id);
  const unsubscribe = events.subscribe((event) => {
    if (event.type === 'message') return progress.onMessage(event);
    if (event.type === 'state') {
      for (const id of ofSession(event.session.id)) autoPause(id, { kind: 'session', state: event.session.state });
    }
    if (event.type === 'deleted') {
      for (const id of ofSession(event.sessionId)) {
        service.cancel(id).catch((err: unknown) => log.error({ err, broadcastId: id }, 'broadcast of a deleted session not cancelled'));
      }
    }
  });

  // Another node created, resumed, paused or cancelled one of the broadcasts this node runs (or should run).
  const unsubscribeRemote = events.subscribe(
    (event) => {
      if (event.type !== 'broadcast' || !runsHere(event.broadcast.sessionId)) return;
      const { id, status } = event.broadcast;
      if (!ACTIVE.includes(status))
        return void stopRunner(id).catch((err: unknown) => log.error({ err, broadcastId: id }, 'runner not stopped'));
      if (runners.has(id)) return;
      store
        .get(id)
        .then((b) => b && ACTIVE.includes(b.status) && run(b))
        .catch((err: unknown) => log.error({ err, broadcastId: id }, 'broadcast of another node not taken on'));
    },
    { from: 'remote' },
  );

  const validate = (input: CreateBroadcastInput) => {
    if (input.quietHours && !isTimeZone(input.quietHours.timezone)) {
      throw new HashsendError('invalid_request', 400, `unknown time zone "${input.quietHours.timezone.slice(0, 64)}" in quietHours`);
    }
    if (input.schedule && Number.isNaN(Date.parse(input.schedule.at))) {
      throw new HashsendError('invalid_request', 400, 'schedule.at is not a date and time (ISO 8601)');
    }
  };

  const service = {
    async create(sessionId: string, input: CreateBroadcastInput): Promise<CreatedBroadcast> {
      requireSession(sessionId);
      validate(input);
      const listed = listRecipients(input.recipients, textsOf(input.message));
      // Composed once: one fetch, one stored blob, every recipient pinned to its sha256.
      const composed = await messages.compose(input.message, sessionId);
      const pace: Pace | undefined =
        input.pace === undefined
          ? DEFAULT_PACE
          : input.pace.perMinute > 0
            ? { perMinute: input.pace.perMinute, jitter: input.pace.jitter ?? 0 }
            : undefined;
      const now = iso();
      const scheduledAt = input.schedule ? new Date(input.schedule.at).toISOString() : undefined;
      const b: Broadcast = {
        id: `bc_${randomBytes(10).toString('hex')}`,
        sessionId,
        name: input.name,
        status: scheduledAt && Date.parse(scheduledAt) > clock() ? 'scheduled' : 'running',
        content: composed.content,
        ...(composed.media ? { media: composed.media } : {}),
        ...(scheduledAt ? { scheduledAt } : {}),
        ...(pace ? { pace } : {}),
        ...(input.dailyCap !== undefined ? { dailyCap: input.dailyCap } : {}),
        ...(input.quietHours ? { quietHours: input.quietHours } : {}),
        total: listed.recipients.length,
        createdAt: now,
        updatedAt: now,
        ...(scheduledAt && Date.parse(scheduledAt) > clock() ? {} : { startedAt: now }),
      };
      await store.create(
        b,
        await screen.atCreation(
          sessionId,
          listed.recipients.map((r, index) => ({ broadcastId: b.id, index, ...r, status: 'pending' })),
        ),
      );
      // On another node's session: the event tells its owner to run it.
      if (runsHere(sessionId)) run(b);
      else await publish(b);
      return { ...(await view(b)), duplicates: listed.duplicates, invalid: listed.invalid };
    },

    get: async (id: string, sessionId?: string) => {
      const b = await load(id);
      if (sessionId !== undefined && b.sessionId !== sessionId) throw notFound(id);
      return view(b);
    },
    async list(sessionId: string, page: { limit: number; before?: string }) {
      requireSession(sessionId);
      return Promise.all((await store.list(sessionId, page)).map(view));
    },
    /** Recipients in list order from `from`, for the report. */
    async recipients(id: string, page: { from: number; limit: number }) {
      await load(id);
      return store.recipients(id, page);
    },

    pause: async (id: string) => view(await pause(id)),
    async resume(id: string) {
      const b = await transition(id, (x) =>
        x.status === 'paused' ? { status: x.startedAt || !x.scheduledAt ? 'running' : 'scheduled', pausedReason: undefined } : undefined,
      );
      if (ACTIVE.includes(b.status)) run(b);
      return view(b);
    },
    async cancel(id: string) {
      const b = await transition(id, (x) =>
        x.status === 'completed' || x.status === 'cancelled' ? undefined : { status: 'cancelled', finishedAt: iso() },
      );
      await stopRunner(id);
      // What is still pending never goes out; what the outbox holds already (the window) is left to finish.
      for (let page = await store.pending(id, 500); page.length; page = await store.pending(id, 500)) {
        await Promise.all(page.map((r) => store.updateRecipient(id, r.index, { status: 'skipped' })));
      }
      await publish(b);
      return view(b);
    },

    /** Picks up broadcasts that were scheduled or running when the process last stopped. */
    async start() {
      for (const b of await store.withStatus(ACTIVE)) run(b);
    },
    /** This node owns the session now: its scheduled and running broadcasts go on here. */
    async adoptSession(sessionId: string) {
      // Due times the last owner waited for fire here from now on, at the time they were set for.
      await pacing.own?.(sessionId);
      for (const b of await store.withStatus(ACTIVE)) if (b.sessionId === sessionId) run(b);
    },
    /** Another node takes the session: its runners stop here (what they handed to the outbox stays queued). */
    async releaseSession(sessionId: string) {
      await Promise.all(ofSession(sessionId).map(stopRunner));
      await pacing.disown?.(sessionId);
    },
    async stop() {
      unsubscribe();
      unsubscribeRemote();
      for (const t of throttled.values()) clearTimeout(t.timer);
      await Promise.all([...runners.keys()].map(stopRunner));
      await ops.drain();
    },
  };
  return service;
};

export type BroadcastService = ReturnType<typeof createBroadcastService>;
