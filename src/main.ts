import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { createApp } from './app.js';
import { printQrsToTerminal } from './whatsapp/terminal-qr.js';

/** Why listening failed, said in the settings' own words instead of a stack trace. */
const LISTEN_PROBLEMS: Record<string, (port: number, host: string) => string> = {
  EADDRINUSE: (port, host) => `PORT ${port} is already in use on ${host}: stop the other process or set another PORT`,
  EACCES: (port) => `PORT ${port} needs privileges this process does not have: choose a PORT above 1023`,
  EADDRNOTAVAIL: (_port, host) => `HOST ${host} is not an address of this machine`,
};

/** `hashsend serve`: load config, start, and shut down cleanly on SIGTERM/SIGINT so no send is cut in half. */
export const serve = async () => {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.problems) process.stderr.write(`hashsend: ${line}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  const app = await createApp({ config, log });
  const server = await app.start().catch((err: NodeJS.ErrnoException) => {
    const problem = LISTEN_PROBLEMS[err.code ?? ''];
    if (!problem) throw err;
    process.stderr.write(`hashsend: ${problem(config.port, config.host)}\n`);
    process.exit(1);
  });
  const { port } = server.address() as AddressInfo;
  const url = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  if (app.apiKey.generated) {
    // Printed once to the terminal, never to the log: it is a secret.
    process.stdout.write(`\nhashsend generated an API key (kept in ${app.apiKey.file}, mode 0600):\n\n  ${app.apiKey.key}\n\n`);
  }
  log.info({ url }, 'hashsend listening');
  if (app.sessions.list().length === 0) {
    // First start: a session to link straight away, its QR right here in the terminal.
    printQrsToTerminal({
      sessionId: 'default',
      pageUrl: `${url}/`,
      subscribe: app.sessions.subscribe,
      write: (t) => process.stdout.write(t),
    });
    await app.sessions.create({ id: 'default' });
  }
  let stopping = false;
  const timeoutMs = config.shutdownTimeoutMs;
  const shutdown = (signal: string) => {
    if (stopping) {
      // The operator insists. Nothing is lost: the outbox resumes at the next start, under the same message ids.
      log.warn({ signal }, 'second signal: exiting now; messages in flight go again at the next start');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs }, 'shutting down: taking no new work');
    // Past the timeout the process goes anyway: the outbox is crash-safe, so a cut costs time, never a message.
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutting down: SHUTDOWN_TIMEOUT_MS passed; exiting anyway, messages in flight go again at the next start');
      process.exit(1);
    }, timeoutMs).unref();
    // Sends get most of the time; closing sessions and stores the rest.
    app.stop({ drainMs: Math.floor(timeoutMs * 0.75) }).then(
      () => {
        log.info('shut down cleanly');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};

const isEntry = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/src/main.ts');
if (isEntry) await serve();
