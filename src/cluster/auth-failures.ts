import { evalScript, type ScriptClient } from '../lib/redis-script.js';
import type { FailureLimiter } from '../lib/failure-limiter.js';

/** One count per address and window: the first failure starts the window; past the allowance, the time left in it. */
const FAIL = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 1 then return 1 end
  return left
end
return 0`;

/**
 * The failed-authentication allowance kept in Redis, so a guesser spreading attempts over several nodes gets one
 * allowance, not one per node. `surface` keeps the API's and WASender's counts apart, as in memory.
 */
export const createRedisFailureLimiter = ({
  client,
  surface,
  maxFailures,
  failureWindowMs,
}: {
  client: ScriptClient;
  surface: string;
  maxFailures: number;
  failureWindowMs: number;
}): FailureLimiter => ({
  async fail(address) {
    return Number(await evalScript(client, FAIL, [`hs:auth:${surface}:${address}`], [failureWindowMs, maxFailures]));
  },
});
