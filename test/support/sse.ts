import http from 'node:http';

export interface StreamEvent {
  id?: string;
  event: string;
  data: unknown;
}

/**
 * Reads a server-sent event stream, collecting `{ id, event, data }` as they arrive. node:http rather than fetch,
 * so `pause()` really stops reading the socket and the server sees a slow client.
 */
export const openEventStream = async (url: string, headers: Record<string, string>) => {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve).once('error', reject),
  );
  const events: StreamEvent[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = frame.match(/^event: (.*)$/m)?.[1];
      const data = frame.match(/^data: (.*)$/m)?.[1];
      const id = frame.match(/^id: (.*)$/m)?.[1];
      if (event && data) events.push({ ...(id !== undefined ? { id } : {}), event, data: JSON.parse(data) });
    }
    for (const w of waiters) w();
  });
  const ended = new Promise<void>((resolve) => {
    res.once('close', resolve);
    res.once('error', () => resolve());
  });
  return {
    status: res.statusCode ?? 0,
    contentType: res.headers['content-type'] ?? null,
    events,
    /** Resolves with the first event (from the start) that `match` accepts. */
    next(match: (e: StreamEvent) => boolean, timeoutMs = 5000) {
      return new Promise<StreamEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event; got ${JSON.stringify(events.map((e) => e.event))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    /** Stops reading: once node's and the kernel's buffers are full, the server's writes back up. */
    pause: () => void res.pause(),
    resume: () => void res.resume(),
    /** Resolves when the server ends the stream. */
    ended,
    async close() {
      res.destroy();
      await ended;
    },
  };
};
