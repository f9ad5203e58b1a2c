import type { RedisClientType } from '@redis/client';
import { seal, unseal, UnsealError, type SealingKey } from '../../lib/sealed-value.js';
import { StoreUnavailableError, UnreadableRecordError, type CredentialStore, type SessionRecords } from './records.js';
import { fencedChange, type Fence } from './fenced-write.js';

/** One hash per session, a field per record. */
export const credentialsKey = (sessionId: string) => `hs:creds:${sessionId}`;

export interface RedisCredentialsOptions {
  client: RedisClientType;
  /** `CREDENTIALS_KEY`: every value is sealed with it (AES-256-GCM) before it reaches Redis. */
  key: SealingKey;
  /**
   * Several nodes: writes land only while this node holds the session's lease (checked in the same script).
   * @default unfenced (one node, or ownership kept some other way)
   */
  fence?: Fence;
}

const unreadable = (location: string, record: string, key: SealingKey, error: UnsealError) =>
  new UnreadableRecordError(
    record,
    error.problem === 'other_key'
      ? `${location} ${record} was sealed with key ${error.sealedWith}, but CREDENTIALS_KEY is ${key.id}: start with the key it was written with`
      : `${location} ${record} cannot be opened with CREDENTIALS_KEY: ${error.message}`,
  );

/**
 * Records as fields of `hs:creds:<sessionId>`, each value sealed under `key` with the session id and the field
 * name bound to it, so a value altered in Redis or copied from another session or field does not open. One
 * command per write (HSET, HDEL, or both in one MULTI), so a batch of changes lands whole or not at all.
 */
export const redisRecords = ({ client, key, fence }: RedisCredentialsOptions, sessionId: string): SessionRecords => {
  const hash = credentialsKey(sessionId);
  const context = (record: string) => `${hash}/${record}`;
  let wiped = false;
  // A read that fails tells nothing about the credentials: never a reason to relink.
  const query = <T>(command: Promise<T>) =>
    command.catch((cause: unknown) => {
      throw new StoreUnavailableError(hash, { cause });
    });
  const open = (record: string, sealed: string) => {
    try {
      return unseal(key, sealed, context(record));
    } catch (error) {
      if (error instanceof UnsealError) return unreadable(hash, record, key, error);
      throw error;
    }
  };

  return {
    location: hash,
    async open() {
      const all = await query(client.hGetAll(hash));
      // Every value is checked now, so a wrong key or a tampered hash stops the session before it connects.
      for (const [record, sealed] of Object.entries(all)) {
        const value = open(record, sealed);
        if (value instanceof UnreadableRecordError) throw value;
      }
      return Object.keys(all);
    },
    async read(names) {
      if (names.length === 0) return [];
      const values = await query(client.hmGet(hash, names));
      return values.map((sealed, i) => (sealed === null || sealed === undefined ? undefined : open(names[i], String(sealed))));
    },
    async write(changes) {
      if (wiped) return;
      const sets = changes
        .filter((c): c is [string, string] => c[1] !== null)
        .map(([name, value]): [string, string] => [name, seal(key, value, context(name))]);
      const removals = changes.filter(([, value]) => value === null).map(([name]) => name);
      if (fence) return fencedChange(client, sessionId, fence(sessionId), hash, { sets, removals });
      if (sets.length > 0 && removals.length > 0) {
        await client.multi().hSet(hash, Object.fromEntries(sets)).hDel(hash, removals).exec();
      } else if (sets.length > 0) {
        await client.hSet(hash, Object.fromEntries(sets));
      } else if (removals.length > 0) {
        await client.hDel(hash, removals);
      }
    },
    async wipe() {
      wiped = true;
      // Commands on one connection run in the order sent: writes asked before this one land before the DEL.
      if (fence) return fencedChange(client, sessionId, fence(sessionId), hash, 'delete');
      await client.del(hash);
    },
  };
};

/** `CREDENTIALS_STORE=redis`: each session's records in `hs:creds:<id>`, sealed with `CREDENTIALS_KEY`. */
export const redisCredentials = (options: RedisCredentialsOptions): CredentialStore => ({
  kind: 'redis',
  session: (sessionId) => redisRecords(options, sessionId),
});
