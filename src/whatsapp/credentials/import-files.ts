import type { Logger } from '../../log.js';
import type { CredentialStore, SessionRecords } from './records.js';

export interface ImportOptions {
  /** Where records are kept from now on (Redis). */
  target: CredentialStore;
  /** Where they were kept before (files in SESSIONS_DIR). */
  source: CredentialStore;
  /** Whether the target holds nothing yet for the session; only then is anything imported. */
  isEmpty(sessionId: string): Promise<boolean>;
  log: Logger;
}

/**
 * The target store, taking in a session's records from the source the first time the session is used and the
 * target has none: switching `CREDENTIALS_STORE` from files to redis moves each linked number's login instead of
 * showing a new QR for it. The records land in one batch write; only then are the source's removed, so a crash in
 * between leaves them in both places, never in neither (and the target, no longer empty, wins next time).
 */
export const importingFrom = ({ target, source, isEmpty, log }: ImportOptions): CredentialStore => {
  // One import per session for the process's life: the Baileys driver and the session manager each open records.
  const imports = new Map<string, Promise<void>>();
  const importOnce = (sessionId: string) => {
    let done = imports.get(sessionId);
    if (!done) {
      done = importSession(sessionId).catch((err: unknown) => {
        imports.delete(sessionId);
        throw err;
      });
      imports.set(sessionId, done);
    }
    return done;
  };
  const importSession = async (sessionId: string) => {
    if (!(await isEmpty(sessionId))) return;
    const from = source.session(sessionId);
    const names = await from.open();
    if (names.length === 0) return;
    const values = await from.read(names);
    const changes = names.flatMap((name, i): [string, string][] => (typeof values[i] === 'string' ? [[name, values[i]]] : []));
    await target.session(sessionId).write(changes);
    await from.write(names.map((name) => [name, null]));
    log.info({ sessionId, records: changes.length, from: from.location }, `credentials moved to the ${target.kind} store`);
  };

  return {
    kind: target.kind,
    session(sessionId): SessionRecords {
      const records = target.session(sessionId);
      return {
        location: records.location,
        open: () => importOnce(sessionId).then(() => records.open()),
        read: (names) => importOnce(sessionId).then(() => records.read(names)),
        write: (changes) => importOnce(sessionId).then(() => records.write(changes)),
        // Nothing to bring over for a session being removed: whatever the source holds goes with it.
        wipe: async () => {
          await Promise.all([records.wipe(), source.session(sessionId).wipe()]);
        },
      };
    },
  };
};
