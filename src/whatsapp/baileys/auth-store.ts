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
import { fileRecords } from '../credentials/file-records.js';
import { DRIVER_OPTIONS, StoreUnavailableError, UnreadableRecordError, type SessionRecords } from '../credentials/records.js';
import { NeedsRelinkError } from './needs-relink-error.js';
import { FencedWriteError } from '../credentials/fenced-write.js';

export const CREDS_FILE = 'creds.json';
/** The record of the credentials themselves; every other one is a Signal key (or a driver's options, never here). */
const CREDS = 'creds';

/** The `useMultiFileAuthState` shape Baileys takes, plus what the driver needs around it. */
export interface AuthStore {
  readonly state: AuthenticationState;
  saveCreds(): Promise<void>;
  /** A session is linked once WhatsApp has signed our device identity (`creds.account`). */
  isLinked(): boolean;
  /** Waits for every write queued so far. */
  flush(): Promise<void>;
  /** Removes every credential (the folder, or the Redis hash); later writes from a closing socket are dropped. */
  wipe(): Promise<void>;
}

export type AuthStoreOptions = {
  log: Logger;
  /** Called when a write is refused because another node owns the session now: this socket must go. */
  onFenced?: (error: FencedWriteError) => void;
} & (
  | {
      /** `SESSIONS_DIR/<id>`: created 0700 when absent. */
      dir: string;
    }
  | { records: SessionRecords }
);

type KeyType = keyof SignalDataTypeMap;

// Ids are JIDs and numbers chosen by the server: encoded so none can name another path.
const keyRecord = (type: KeyType, id: string) => `${type}-${encodeURIComponent(id)}`;

const serialize = (value: unknown) => JSON.stringify(value, BufferJSON.replacer);
const deserialize = (text: string): unknown => JSON.parse(text, BufferJSON.reviver);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasKeyPair = (v: unknown) => isObject(v) && Buffer.isBuffer(v.private) && Buffer.isBuffer(v.public);

/** Enough of the shape to know the record is credentials and not a truncated or foreign JSON document. */
const looksLikeCreds = (v: unknown): v is AuthenticationCreds =>
  isObject(v) &&
  hasKeyPair(v.noiseKey) &&
  hasKeyPair(v.signedIdentityKey) &&
  isObject(v.signedPreKey) &&
  hasKeyPair(v.signedPreKey.keyPair) &&
  typeof v.registrationId === 'number' &&
  typeof v.advSecretKey === 'string';

/** Records a session's credentials can live beside that are not Signal keys. */
const NOT_KEYS = new Set([CREDS, DRIVER_OPTIONS]);

/**
 * Opens the records and loads the credentials. No creds record and no key records is a session never linked
 * (fresh credentials); anything else that does not yield credentials throws NeedsRelinkError.
 */
const loadCreds = async (records: SessionRecords): Promise<AuthenticationCreds> => {
  const where = `${records.location} ${CREDS}`;
  let text: string | undefined;
  try {
    const names = await records.open();
    const found = (await records.read([CREDS]))[0];
    if (found instanceof UnreadableRecordError) throw found;
    text = found;
    if (text === undefined) {
      const keys = names.filter((n) => !NOT_KEYS.has(n));
      if (keys.length > 0) throw new NeedsRelinkError('creds_missing', where, `${where} is missing beside ${keys.length} keys`);
      return initAuthCreds();
    }
  } catch (error) {
    if (error instanceof NeedsRelinkError || error instanceof StoreUnavailableError) throw error;
    if (error instanceof UnreadableRecordError) {
      throw new NeedsRelinkError('creds_undecryptable', `${records.location} ${error.record}`, error.message, { cause: error });
    }
    throw new NeedsRelinkError('creds_unreadable', where, `cannot read ${where}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = deserialize(text);
  } catch (error) {
    throw new NeedsRelinkError('creds_corrupt', where, `${where} is not valid JSON`, { cause: error });
  }
  if (!looksLikeCreds(parsed)) {
    throw new NeedsRelinkError('creds_corrupt', where, `${where} does not hold WhatsApp credentials`);
  }
  return parsed;
};

/**
 * Credentials for Baileys in one session's records, one per Signal key (BufferJSON), each written whole (see
 * SessionRecords) and every `keys.set` as one batch. Throws NeedsRelinkError when the records hold a login it cannot
 * restore: it never answers that with fresh credentials.
 */
export const openAuthStore = async (options: AuthStoreOptions): Promise<AuthStore> => {
  const { log, onFenced } = options;
  const records = 'records' in options ? options.records : fileRecords(options.dir);
  const creds = await loadCreds(records);
  // Only to await in flush(): each backend keeps the order of its own writes.
  const pending = new Set<Promise<unknown>>();
  const track = (write: Promise<void>) => {
    pending.add(write);
    void write.then(
      () => pending.delete(write),
      (error: unknown) => {
        pending.delete(write);
        if (error instanceof FencedWriteError) onFenced?.(error);
      },
    );
    return write;
  };

  const decodeKey = <T extends KeyType>(type: T, name: string, text: string | undefined | UnreadableRecordError) => {
    if (text === undefined) return undefined;
    try {
      if (text instanceof UnreadableRecordError) throw text;
      let value = deserialize(text);
      if (type === 'app-state-sync-key' && isObject(value)) value = proto.Message.AppStateSyncKeyData.fromObject(value);
      return value as SignalDataTypeMap[T] | undefined;
    } catch (error) {
      // A lost signal key costs one re-established session with that contact, not the login: say so.
      log.warn({ record: name, why: (error as Error).message }, 'unreadable signal key ignored');
      return undefined;
    }
  };

  const rawKeys: SignalKeyStore = {
    async get(type, ids) {
      const names = ids.map((id) => keyRecord(type, id));
      const texts = await records.read(names);
      const found: { [id: string]: SignalDataTypeMap[typeof type] } = {};
      ids.forEach((id, i) => {
        const value = decodeKey(type, names[i], texts[i]);
        if (value !== undefined && value !== null) found[id] = value;
      });
      return found;
    },
    async set(data: SignalDataSet) {
      const changes: [string, string | null][] = [];
      for (const [type, entries] of Object.entries(data) as [KeyType, Record<string, unknown>][]) {
        for (const [id, value] of Object.entries(entries ?? {})) changes.push([keyRecord(type, id), value ? serialize(value) : null]);
      }
      if (changes.length > 0) await track(records.write(changes));
    },
  };

  return {
    state: { creds, keys: makeCacheableSignalKeyStore(rawKeys, log) },
    saveCreds: () => track(records.write([[CREDS, serialize(creds)]])),
    isLinked: () => Boolean(creds.account),
    flush: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    wipe: () => records.wipe(),
  };
};
