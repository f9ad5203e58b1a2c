import { evalScript, type ScriptClient } from '../lib/redis-script.js';

/*
 * Keys, per session:
 *   hs:lease:<sessionId>   string `<nodeId>:<token>`, PX ttl: who owns the session, under which fencing token
 *   hs:fence:<sessionId>   counter: the last token handed out; INCR only, never reset, so a token is never reused
 * Every change is one script, so "check then write" cannot interleave with another node's.
 */
const leaseKey = (sessionId: string) => `hs:lease:${sessionId}`;
const leaseValue = (nodeId: string, token: number) => `${nodeId}:${token}`;

/** What a write fenced by this lease checks, in the same script: the lease key still holds this node's value. */
export const leaseFence = (sessionId: string, nodeId: string, token: number) => ({
  key: leaseKey(sessionId),
  value: leaseValue(nodeId, token),
});

/**
 * The fences of the leases this node holds, by session, from `token` (the ownership loop's): what the session's
 * owner checks its credential writes against. Undefined for a session this node does not hold.
 */
export const leaseFences =
  (nodeId: string, token: (sessionId: string) => number | undefined) =>
  (sessionId: string): { key: string; value: string } | undefined => {
    const held = token(sessionId);
    return held === undefined ? undefined : leaseFence(sessionId, nodeId, held);
  };
const fenceKey = (sessionId: string) => `hs:fence:${sessionId}`;

/** Takes a free lease under the next token; nil when someone holds it. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
`;
/** Extends each lease still holding the value given for it (ARGV[1 + i] for KEYS[i]); 1 or 0 per lease. */
const RENEW = `
local ttl = ARGV[1]
local renewed = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ttl)
    renewed[i] = 1
  else
    renewed[i] = 0
  end
end
return renewed
`;
/** Deletes the lease only if it still holds the value given; 1 if it did. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface LeaseHolder {
  nodeId: string;
  token: number;
}

export interface Leases {
  readonly nodeId: string;
  readonly ttlMs: number;
  /** Takes the session's lease for this node if nobody holds it, under a token above every earlier one. */
  acquire(sessionId: string): Promise<{ token: number } | undefined>;
  /** Extends the lease for another ttl if this node still holds it under `token`. */
  renew(sessionId: string, token: number): Promise<boolean>;
  /** `renew` for many leases in one round trip; answers in the same order. */
  renewMany(leases: { sessionId: string; token: number }[]): Promise<boolean[]>;
  /** Frees the lease if this node still holds it under `token`; false when it did not (expired, taken). */
  release(sessionId: string, token: number): Promise<boolean>;
  holder(sessionId: string): Promise<LeaseHolder | undefined>;
  /** Every given session's holder in one round trip. */
  holders(sessionIds: string[]): Promise<Map<string, LeaseHolder | undefined>>;
}

export interface LeasesOptions {
  client: ScriptClient & { mGet(keys: string[]): Promise<(string | null)[]> };
  nodeId: string;
  ttlMs: number;
}

// A node id may hold ':' itself; the token is what follows the last one.
const parseHolder = (value: string | null): LeaseHolder | undefined => {
  if (value === null) return undefined;
  const at = value.lastIndexOf(':');
  const token = Number(value.slice(at + 1));
  if (at < 0 || !Number.isSafeInteger(token)) return undefined;
  return { nodeId: value.slice(0, at), token };
};

export const createLeases = ({ client, nodeId, ttlMs }: LeasesOptions): Leases => {
  const mine = (token: number) => leaseValue(nodeId, token);
  const renewMany: Leases['renewMany'] = async (leases) => {
    if (leases.length === 0) return [];
    const keys = leases.map(({ sessionId }) => leaseKey(sessionId));
    const reply = (await evalScript(client, RENEW, keys, [ttlMs, ...leases.map(({ token }) => mine(token))])) as number[];
    return reply.map((r) => r === 1);
  };
  const holders: Leases['holders'] = async (sessionIds) => {
    if (sessionIds.length === 0) return new Map();
    const values = await client.mGet(sessionIds.map(leaseKey));
    return new Map(sessionIds.map((id, i) => [id, parseHolder(values[i] ?? null)]));
  };
  return {
    nodeId,
    ttlMs,
    async acquire(sessionId) {
      const token = await evalScript(client, ACQUIRE, [leaseKey(sessionId), fenceKey(sessionId)], [nodeId, ttlMs]);
      return typeof token === 'number' ? { token } : undefined;
    },
    renew: async (sessionId, token) => (await renewMany([{ sessionId, token }]))[0]!,
    renewMany,
    release: async (sessionId, token) => (await evalScript(client, RELEASE, [leaseKey(sessionId)], [mine(token)])) === 1,
    holder: async (sessionId) => (await holders([sessionId])).get(sessionId),
    holders,
  };
};
