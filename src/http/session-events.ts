import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { BroadcastEvent } from '../events/types.js';
import type { SubscribeOptions } from '../events/bus.js';
import type { SessionEvent, SessionInfo } from '../whatsapp/sessions.js';

/** What the event stream needs of the session manager. */
export interface SessionEventSource {
  get(id: string): SessionInfo;
  currentQr(id: string): { qr: string; expiresAt: string } | undefined;
  subscribe(listener: (event: SessionEvent) => void, options?: SubscribeOptions): () => void;
}

interface Frame {
  seq: number;
  event: string;
  data: unknown;
}

type StreamedEvent = SessionEvent | BroadcastEvent;

const sessionOf = (e: StreamedEvent) => (e.type === 'state' ? e.session.id : e.type === 'broadcast' ? e.broadcast.sessionId : e.sessionId);
const dataOf = (e: StreamedEvent): unknown => {
  switch (e.type) {
    case 'broadcast':
      return e.broadcast;
    case 'state':
      return e.session;
    case 'qr':
      return { qr: e.qr, expiresAt: e.expiresAt };
    case 'receipt':
      return { waMessageId: e.waMessageId, status: e.status, ...(e.error ? { error: e.error } : {}) };
    case 'deleted':
      return { id: e.sessionId };
  }
};

export interface SessionEventLogOptions {
  /** Frames kept per session for clients that reconnect with `Last-Event-ID`. @default 100 */
  keep?: number;
  /** Broadcast progress, streamed as `broadcast` frames on its session's stream (published a few times a second at most). */
  broadcasts?: { subscribe(listener: (event: BroadcastEvent) => void): () => void };
}

/**
 * Every session event as a numbered frame, the last `keep` of each session kept: a client that lost its stream
 * reconnects with `Last-Event-ID` and gets what it missed, and a slow client skips writing and catches up from
 * here instead of making the server buffer for it. Ids carry a per-process prefix, so an id from before a restart
 * is recognised as unknown rather than mistaken for a position in this process's numbering.
 */
export const createSessionEventLog = (source: SessionEventSource, { keep = 100, broadcasts }: SessionEventLogOptions = {}) => {
  const epoch = randomBytes(4).toString('hex');
  let seq = 0;
  const logs = new Map<string, { frames: Frame[]; evictedUpTo: number }>();
  const listeners = new Set<(sessionId: string, frame: Frame) => void>();

  const record = (event: StreamedEvent) => {
    // A driver's raw inbound message is the inbox's to store; clients read it there (and from webhooks).
    if (event.type === 'inbound') return;
    const sessionId = sessionOf(event);
    const frame: Frame = { seq: ++seq, event: event.type, data: dataOf(event) };
    let log = logs.get(sessionId);
    if (!log) logs.set(sessionId, (log = { frames: [], evictedUpTo: 0 }));
    log.frames.push(frame);
    if (log.frames.length > keep) log.evictedUpTo = log.frames.shift()!.seq;
    for (const listener of listeners) listener(sessionId, frame);
    if (event.type === 'deleted') logs.delete(sessionId);
  };
  // Every node's: a client following a session sees its owner's events whichever node it reached.
  source.subscribe(record, { from: 'all' });
  broadcasts?.subscribe(record);

  return {
    idOf: (n: number) => `${epoch}-${n}`,
    /** The position an id names in this process's numbering, or undefined for an id of another process or none. */
    positionOf(id: string | undefined): number | undefined {
      const m = /^([0-9a-f]{8})-(\d{1,15})$/.exec(id ?? '');
      if (!m || m[1] !== epoch) return undefined;
      const n = Number(m[2]);
      return n <= seq ? n : undefined;
    },
    latest: () => seq,
    /** The session's frames after position `after`, or undefined when some of them are no longer kept. */
    since(sessionId: string, after: number): Frame[] | undefined {
      const log = logs.get(sessionId);
      if (!log) return [];
      if (after < log.evictedUpTo) return undefined;
      return log.frames.filter((f) => f.seq > after);
    },
    subscribe(listener: (sessionId: string, frame: Frame) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
};

export type SessionEventLog = ReturnType<typeof createSessionEventLog>;

/** One SSE frame; `data` is JSON on one line, so no frame can be split by a newline inside it. */
const frameText = (id: string, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Streams one session's events. Starts with what the client missed since its `Last-Event-ID` when that is still
 * kept, else with the session as it is now (`state`, then `qr` if one is showing). When the socket is full
 * (`write` returns false) nothing more is written until it drains; then the frames written since are sent from
 * the log, or, when the client fell further behind than the log keeps, the current state again. So a slow reader
 * costs at most one frame beyond the socket's buffer, never a queue that grows with every event.
 */
export const streamSessionEvents = (req: Request, res: Response, sessionId: string, source: SessionEventSource, log: SessionEventLog) => {
  source.get(sessionId); // 404 before any header is sent
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    // nginx would otherwise hold events back in its buffer.
    'X-Accel-Buffering': 'no',
  });
  let sent = 0;
  let full = false;
  const write = (text: string) => {
    if (!res.write(text)) full = true;
  };
  const snapshot = () => {
    sent = log.latest();
    const id = log.idOf(sent);
    write(frameText(id, 'state', source.get(sessionId)));
    const qr = source.currentQr(sessionId);
    if (qr) write(frameText(id, 'qr', qr));
  };
  const catchUp = () => {
    const missed = log.since(sessionId, sent);
    if (!missed) return snapshot();
    for (const f of missed) {
      if (full) return;
      write(frameText(log.idOf(f.seq), f.event, f.data));
      sent = f.seq;
    }
  };

  const resumeAt = log.positionOf(req.get('last-event-id'));
  if (resumeAt === undefined) snapshot();
  else {
    sent = resumeAt;
    catchUp();
  }
  const unsubscribe = log.subscribe((id, frame) => {
    if (id !== sessionId) return;
    // The last word, written whatever is buffered: the stream ends with it.
    if (frame.event === 'deleted') return void res.end(frameText(log.idOf(frame.seq), frame.event, frame.data));
    if (!full) catchUp();
  });
  res.on('drain', () => {
    full = false;
    catchUp();
  });
  // A comment now and then keeps proxies from closing an idle stream; one that is not draining needs none.
  const keepAlive = setInterval(() => full || write(': keep-alive\n\n'), 15_000);
  res.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
};
