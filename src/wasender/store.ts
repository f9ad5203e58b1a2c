import { createHash } from 'node:crypto';
import type { Store } from '../store/index.js';

/**
 * Session options WASenderApi's newer docs add, kept as given (false unless set) for the webhook and message code
 * that honours them; hashsend does not act on them yet.
 */
export const OPTION_FLAGS = [
  'read_incoming_messages',
  'auto_reject_calls',
  'ignore_groups',
  'ignore_channels',
  'ignore_broadcasts',
  'always_online',
] as const;
export type OptionFlag = (typeof OPTION_FLAGS)[number];

/** What is kept of a WASenderApi session; its `status` is read live from the hashsend session it maps to. */
export interface WasenderRecord extends Record<OptionFlag, boolean> {
  id: number;
  /** The hashsend session behind it (on our API and the operator page). */
  sessionId: string;
  name: string;
  phone_number: string;
  account_protection: boolean;
  log_messages: boolean;
  webhook_url: string | null;
  webhook_enabled: boolean;
  webhook_events: string[] | null;
  webhook_secret: string;
  api_key: string;
  user_id: number;
  session_data: Record<string, unknown> | null;
  last_active_at: string | null;
  created_at: string;
  updated_at: string;
  /** Set at create and by `disconnect`, cleared by `connect`: reads `disconnected` until linking is asked for. */
  disconnected?: boolean;
}

const IDS = 'ids';
const NEXT_ID = 'next-id';
const recordKey = (id: number) => `session:${id}`;
/** Keys are found by their hash: the store never holds a map from key text to session. */
const keyIndex = (apiKey: string) => `key:${createHash('sha256').update(apiKey).digest('hex')}`;

/**
 * WASenderApi session records on a Keyv namespace: integer ids from a counter, a list of ids, and an index from
 * the hash of each session API key to its id. Writes run one after another, so ids are never handed out twice.
 */
export const createWasenderStore = (store: Store) => {
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = chain.then(op, op);
    chain = run.catch(() => undefined);
    return run;
  };
  const ids = async () => ((await store.get(IDS)) as number[] | undefined) ?? [];
  const get = async (id: number) => (await store.get(recordKey(id))) as WasenderRecord | undefined;

  return {
    get,
    async list(): Promise<WasenderRecord[]> {
      const records = await Promise.all((await ids()).map(get));
      return records.filter((r): r is WasenderRecord => r !== undefined);
    },
    async byKey(apiKey: string): Promise<WasenderRecord | undefined> {
      const id = (await store.get(keyIndex(apiKey))) as number | undefined;
      const record = id === undefined ? undefined : await get(id);
      // The index is written before the record and removed after it: a record whose key no longer matches is stale.
      return record?.api_key === apiKey ? record : undefined;
    },
    /** Allocates the next id and stores what `build` makes of it. */
    insert: (build: (id: number) => Promise<WasenderRecord>) =>
      serial(async () => {
        const id = (((await store.get(NEXT_ID)) as number | undefined) ?? 0) + 1;
        await store.set(NEXT_ID, id);
        const record = await build(id);
        await store.set(keyIndex(record.api_key), id);
        await store.set(recordKey(id), record);
        await store.set(IDS, [...(await ids()), id]);
        return record;
      }),
    /**
     * Changes the record as `change` says (read and written in turn with every other write, so none is lost); a
     * new key is indexed first and the old one dropped after, so the old key stops working at once.
     */
    update: (id: number, change: (record: WasenderRecord) => WasenderRecord) =>
      serial(async () => {
        const before = await get(id);
        if (!before) return undefined;
        const after = change(before);
        const rekeyed = after.api_key !== before.api_key;
        if (rekeyed) await store.set(keyIndex(after.api_key), id);
        await store.set(recordKey(id), after);
        if (rekeyed) await store.delete(keyIndex(before.api_key));
        return after;
      }),
    remove: (record: WasenderRecord) =>
      serial(async () => {
        await store.set(
          IDS,
          (await ids()).filter((x) => x !== record.id),
        );
        await store.delete(recordKey(record.id));
        await store.delete(keyIndex(record.api_key));
      }),
  };
};
export type WasenderStore = ReturnType<typeof createWasenderStore>;
