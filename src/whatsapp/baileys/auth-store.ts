import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import type { Logger } from '../../log.js';
import { KeyedQueue } from '../../lib/keyed-queue.js';
import { removeFileDurably, TEMP_SUFFIX, writeFileAtomic } from '../../fs/atomic-file.js';
import { NeedsRelinkError } from './needs-relink-error.js';

export const CREDS_FILE = 'creds.json';

/** The `useMultiFileAuthState` shape Baileys takes, plus what the driver needs around it. */
export interface AuthStore {
  readonly state: AuthenticationState;
  saveCreds(): Promise<void>;
  /** A session is linked once WhatsApp has signed our device identity (`creds.account`). */
  isLinked(): boolean;
  /** Waits for every write queued so far. */
  flush(): Promise<void>;
  /** Removes the folder with every credential in it; later writes from a closing socket are dropped. */
  wipe(): Promise<void>;
}

export interface AuthStoreOptions {
  /** `SESSIONS_DIR/<id>`: created 0700 when absent. */
  dir: string;
  log: Logger;
}

type KeyType = keyof SignalDataTypeMap;

// Ids are JIDs and numbers chosen by the server: encoded so none can name another path.
const keyFile = (type: KeyType, id: string) => `${type}-${encodeURIComponent(id)}.json`;

const serialize = (value: unknown) => JSON.stringify(value, BufferJSON.replacer);
const deserialize = (text: string): unknown => JSON.parse(text, BufferJSON.reviver);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasKeyPair = (v: unknown) => isObject(v) && Buffer.isBuffer(v.private) && Buffer.isBuffer(v.public);

/** Enough of the shape to know the file is credentials and not a truncated or foreign JSON document. */
const looksLikeCreds = (v: unknown): v is AuthenticationCreds =>
  isObject(v) &&
  hasKeyPair(v.noiseKey) &&
  hasKeyPair(v.signedIdentityKey) &&
  isObject(v.signedPreKey) &&
  hasKeyPair(v.signedPreKey.keyPair) &&
  typeof v.registrationId === 'number' &&
  typeof v.advSecretKey === 'string';

const errnoCode = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * Loads the credentials of one session. A missing `creds.json` in a folder with no key files is a session
 * never linked (fresh credentials); anything else that does not yield credentials throws NeedsRelinkError.
 */
const loadCreds = async (dir: string, names: string[]): Promise<AuthenticationCreds> => {
  const path = join(dir, CREDS_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') {
      throw new NeedsRelinkError('creds_unreadable', path, `cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const keyFiles = names.filter((n) => n.endsWith('.json') && n !== CREDS_FILE);
    if (keyFiles.length > 0) {
      throw new NeedsRelinkError('creds_missing', path, `${path} is missing beside ${keyFiles.length} key files`);
    }
    return initAuthCreds();
  }
  let parsed: unknown;
  try {
    parsed = deserialize(text);
  } catch (error) {
    throw new NeedsRelinkError('creds_corrupt', path, `${path} is not valid JSON`, { cause: error });
  }
  if (!looksLikeCreds(parsed)) {
    throw new NeedsRelinkError('creds_corrupt', path, `${path} does not hold WhatsApp credentials`);
  }
  return parsed;
};

/**
 * Credentials for Baileys in `dir`, one JSON file each (BufferJSON), written atomically with mode 0600 and
 * one write at a time per file. Throws NeedsRelinkError when the folder holds a login it cannot restore.
 */
export const openAuthStore = async ({ dir, log }: AuthStoreOptions): Promise<AuthStore> => {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const names = await readdir(dir);
  // Leftovers of writes a crash interrupted: the rename never happened, so the real file is intact.
  await Promise.all(names.filter((n) => n.endsWith(TEMP_SUFFIX)).map((n) => rm(join(dir, n), { force: true })));
  const creds = await loadCreds(dir, names);

  const queue = new KeyedQueue();
  let wiped = false;

  const write = (file: string, render: () => string) =>
    queue.run(file, async () => {
      if (wiped) return;
      await writeFileAtomic(join(dir, file), render());
    });
  const remove = (file: string) =>
    queue.run(file, async () => {
      if (wiped) return;
      await removeFileDurably(join(dir, file));
    });

  const readKey = async <T extends KeyType>(type: T, id: string): Promise<SignalDataTypeMap[T] | undefined> => {
    const file = keyFile(type, id);
    return queue.run(file, async () => {
      let text: string;
      try {
        text = await readFile(join(dir, file), 'utf8');
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') return undefined;
        throw error;
      }
      let value: unknown;
      try {
        value = deserialize(text);
      } catch {
        // A lost signal key costs one re-established session with that contact, not the login: say so.
        log.warn({ file }, 'unreadable signal key file ignored');
        return undefined;
      }
      if (type === 'app-state-sync-key' && isObject(value)) {
        value = proto.Message.AppStateSyncKeyData.fromObject(value);
      }
      return value as SignalDataTypeMap[T];
    });
  };

  const rawKeys: SignalKeyStore = {
    async get(type, ids) {
      const found: { [id: string]: SignalDataTypeMap[typeof type] } = {};
      await Promise.all(
        ids.map(async (id) => {
          const value = await readKey(type, id);
          if (value !== undefined && value !== null) found[id] = value;
        }),
      );
      return found;
    },
    async set(data: SignalDataSet) {
      const tasks: Promise<void>[] = [];
      for (const [type, entries] of Object.entries(data) as [KeyType, Record<string, unknown>][]) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          const file = keyFile(type, id);
          tasks.push(value ? write(file, () => serialize(value)) : remove(file));
        }
      }
      await Promise.all(tasks);
    },
  };

  return {
    state: { creds, keys: makeCacheableSignalKeyStore(rawKeys, log) },
    // Rendered when its turn comes, so a queue of saves ends with the newest credentials on disk.
    saveCreds: () => write(CREDS_FILE, () => serialize(creds)),
    isLinked: () => Boolean(creds.account),
    flush: () => queue.drain(),
    async wipe() {
      wiped = true;
      await queue.drain();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
