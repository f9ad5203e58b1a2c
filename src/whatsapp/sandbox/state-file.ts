import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

/** The sandbox's whole world for one session: the "phone" it is linked to and what recipients received. */
export interface SandboxState {
  me: { id: string; name: string } | null;
  deliveries: SandboxDelivery[];
  /** Failures injected by a test and not yet used: survive a restart like the rest. */
  failures: SandboxFailure[];
}

export interface SandboxDelivery {
  messageId: string;
  to: string;
  type: 'text' | 'media';
  text?: string;
  as?: string;
  /** sha256 of the bytes the recipient got, hashed by the sandbox from what it read. */
  sha256?: string;
  mimetype?: string;
  size?: number;
  caption?: string;
  filename?: string;
  /** How many times a send with this message id arrived; a phone shows one message whatever this says. */
  sendAttempts: number;
  receivedAt: string;
  /** When a send of it was answered; receipts follow only an answered send, as WhatsApp's follow its server ack. */
  acknowledgedAt?: string;
  deliveredAt?: string;
  readAt?: string;
}

export type SandboxFailureMode = 'error' | 'hang' | 'hang_after_delivery';

export interface SandboxFailure {
  code: string;
  status: number;
  mode: SandboxFailureMode;
}

const FILE = 'sandbox.json';
const empty = (): SandboxState => ({ me: null, deliveries: [], failures: [] });

export class CorruptStateError extends Error {}

/** Reads the state; a missing file is a fresh session, an unreadable one is reported, never silently reset. */
export const readState = async (dir: string): Promise<SandboxState> => {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty();
    throw err;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<SandboxState>;
    return { me: parsed.me ?? null, deliveries: parsed.deliveries ?? [], failures: parsed.failures ?? [] };
  } catch (err) {
    throw new CorruptStateError(`${path.join(dir, FILE)} is not valid JSON`, { cause: err });
  }
};

/** Temp file, fsync, rename: a crash leaves the old state or the new one, never half of one. */
export const writeState = async (dir: string, state: SandboxState) => {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = path.join(dir, FILE);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(state));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
};
