import { createServer, createConnection } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1, for programs that must be told their port up front. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Waits until something accepts connections on the port, polling until the deadline; `alive` lets the caller
 * fail fast when the program it started has already exited.
 */
export const waitForPort = async (
  port: number,
  { timeoutMs = 15_000, alive = () => true }: { timeoutMs?: number; alive?: () => boolean } = {},
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port)) return;
    if (!alive()) throw new Error(`the program meant to listen on port ${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
