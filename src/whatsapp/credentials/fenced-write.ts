import { evalScript, type ScriptClient } from '../../lib/redis-script.js';

/**
 * What this node must still hold for a session's credentials to be written: the session's lease key and the
 * value it holds for this node (`<nodeId>:<token>`, src/cluster/leases.ts). `undefined`: this node owns it not.
 */
export type Fence = (sessionId: string) => { key: string; value: string } | undefined;

/** A write refused because another node owns the session now (or none does): its newer credentials win. */
export class FencedWriteError extends Error {
  constructor(readonly sessionId: string) {
    super(`credentials of session ${sessionId} not written: this node no longer holds its lease`);
    this.name = 'FencedWriteError';
  }
}

/**
 * A file cannot be written on a condition held in Redis, so for `CREDENTIALS_STORE=files` the lease is read just
 * before each write and a write is refused when it is no longer this node's. Best effort: a process paused between
 * that read and its rename can still land one stale write (Redis-kept credentials check in the write itself).
 */
export const leaseCheck =
  (client: { get(key: string): Promise<string | null> }, fence: Fence) =>
  async (sessionId: string): Promise<void> => {
    const held = fence(sessionId);
    if (!held) throw new FencedWriteError(sessionId);
    let value: string | null;
    try {
      value = await client.get(held.key);
    } catch {
      // Redis unreachable: nobody can take the lease before this node's keeper gives it up and closes the session,
      // so the write is still the owner's (as it was before leases were checked at all).
      return;
    }
    if (value !== held.value) throw new FencedWriteError(sessionId);
  };

/** KEYS: lease, hash. ARGV: lease value, number of fields set, then field/value pairs, then fields removed. */
const WRITE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local sets = tonumber(ARGV[2])
for i = 3, 2 + 2 * sets, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = 3 + 2 * sets, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
return 1
`;
const DELETE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
return 1
`;

/**
 * Changes the hash in one script, only while the lease still holds this node's value, so an owner that was
 * paused past its lease (and replaced) cannot overwrite the new owner's credentials when it wakes.
 */
export const fencedChange = async (
  client: ScriptClient,
  sessionId: string,
  fence: ReturnType<Fence>,
  hash: string,
  change: { sets: [string, string][]; removals: string[] } | 'delete',
) => {
  if (!fence) throw new FencedWriteError(sessionId);
  const reply =
    change === 'delete'
      ? await evalScript(client, DELETE, [fence.key, hash], [fence.value])
      : await evalScript(client, WRITE, [fence.key, hash], [fence.value, change.sets.length, ...change.sets.flat(), ...change.removals]);
  if (Number(reply) !== 1) throw new FencedWriteError(sessionId);
};
