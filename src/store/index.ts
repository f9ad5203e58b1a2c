import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { openSqlite } from './sqlite.js';

export type Store = Keyv;

/**
 * One Keyv namespace per concern (`media`, `messages`, `outbox`, …), all on the same backend: a SQLite file in
 * DATA_DIR by default, so `npm start` needs nothing else; Redis when REDIS_URL is set, for several nodes.
 */
export interface StoreFactory {
  namespace(name: string): Store;
  /** Where the state lives, for stores that query it directly (broadcasts): the SQLite file, or Redis. */
  readonly backend: { kind: 'sqlite'; file: string } | { kind: 'redis'; url: string };
  close(): Promise<void>;
}

/**
 * Keyv's format is JSON where a string starting with ':' is escaped (`::…`) and a Buffer is `:base64:…`; Keyv's
 * serializer builds it value by value in JavaScript and its parser runs a reviver on every value. Such a string
 * shows in JSON as `":` after `:`, `[`, `,` or at the start, and a Buffer as `"type":"Buffer"`: without either,
 * plain JSON.stringify/parse give Keyv's result; with either (or a key that only looks like it) the escaping runs.
 */
const ESCAPED = /(?:^|[:[,])":|"type":"Buffer"/;
function escape(this: Record<string, unknown>, key: string, value: unknown) {
  const raw = this[key];
  if (Buffer.isBuffer(raw)) return `:base64:${raw.toString('base64')}`;
  return typeof value === 'string' && value.startsWith(':') ? `:${value}` : value;
}
const unescape = (_key: string, value: unknown) =>
  typeof value !== 'string' || !value.startsWith(':')
    ? value
    : value.startsWith(':base64:')
      ? Buffer.from(value.slice(8), 'base64')
      : value.slice(1);
const serialize = (data: unknown) => {
  const json = JSON.stringify(data);
  return ESCAPED.test(json) ? JSON.stringify(data, escape) : json;
};
const deserialize = <T>(raw: string): T => JSON.parse(raw, ESCAPED.test(raw) ? unescape : undefined) as T;

type Backend = { table(name: string): KeyvStoreAdapter; close(): Promise<void>; where: StoreFactory['backend'] };

/** One connection for every namespace (a table each): SQLite has one writer at a time, so more would only queue. */
const sqliteBackend = async (dataDir: string): Promise<Backend> => {
  await mkdir(dataDir, { recursive: true });
  const file = path.resolve(dataDir, 'hashsend.sqlite');
  return { ...(await openSqlite(file, { busyTimeoutMs: 5000 })), where: { kind: 'sqlite', file } };
};

/** Loaded only when REDIS_URL is set: the Redis client is large and most installs never need it. */
const redisBackend = async (redisUrl: string): Promise<Backend> => {
  const { default: KeyvRedis } = await import('@keyv/redis');
  return { table: () => new KeyvRedis(redisUrl), close: async () => undefined, where: { kind: 'redis', url: redisUrl } };
};

export const createStoreFactory = async ({ dataDir, redisUrl }: { dataDir: string; redisUrl?: string }): Promise<StoreFactory> => {
  const opened: Store[] = [];
  const backend = redisUrl ? await redisBackend(redisUrl) : await sqliteBackend(dataDir);
  return {
    backend: backend.where,
    namespace(name) {
      // A table per namespace: Keyv writes its namespace onto the store object, so a shared one would mix them.
      // throwOnErrors: by default Keyv reports a failed write as `false` and a failed read as a missing key, which
      // would let a message be answered 202 without being stored, or look absent when the disk failed.
      const keyv = new Keyv({
        store: backend.table(`hs_${name}`),
        namespace: name,
        useKeyPrefix: !!redisUrl,
        throwOnErrors: true,
        serialize,
        deserialize,
      });
      opened.push(keyv);
      return keyv;
    },
    async close() {
      await Promise.allSettled(opened.map((k) => k.disconnect()));
      await backend.close();
    },
  };
};
