/**
 * Lua scripts of the pacing state shared by the nodes (src/broadcasts/pacing-redis.ts). Each reads and writes the
 * broadcast's pace and its session's sends in one step, so the check and the taking of a place cannot be split by
 * another runner or a crash. Times are epoch ms, written whole (`%.0f`: Lua would print a large number as 1.7e+12).
 *
 * Keys: the broadcast's pace, a hash { next: no handover before, inflight: the index whose turn was taken and whose
 * message is not known finished, gap: its drawn gap }; the session's sends, a sorted set of `{broadcast}:{index}` by
 * the time its place was taken (the daily cap counts it from the start of a local day; older than 3 days is trimmed).
 */

/** KEYS: pace, sends. ARGV: day start. Returns { next or false, inflight or false, sends since the day start }. */
export const STATE = `
local pace = redis.call('HMGET', KEYS[1], 'next', 'inflight')
return { pace[1], pace[2], redis.call('ZCOUNT', KEYS[2], ARGV[1], '+inf') }
`;

/**
 * KEYS: pace, sends. ARGV: now, day start, cap or '', gap or '' (unpaced), broadcast id, then the indexes in order.
 * Returns how many of them, from the first, may be handed over now; each one new takes a place under the cap, and
 * with a pace the turn: the next one waits for it to finish and for its gap.
 */
export const CLAIM = `
local now, dayStart, cap, gap, id = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local granted = 0
for i = 6, #ARGV do
  local member = id .. ':' .. ARGV[i]
  if not redis.call('ZSCORE', KEYS[2], member) then
    if gap ~= '' then
      local pace = redis.call('HMGET', KEYS[1], 'next', 'inflight')
      if pace[2] or now < tonumber(pace[1] or '0') then break end
    end
    if cap ~= '' and redis.call('ZCOUNT', KEYS[2], dayStart, '+inf') >= tonumber(cap) then break end
    redis.call('ZADD', KEYS[2], string.format('%.0f', now), member)
    if gap ~= '' then
      redis.call('HSET', KEYS[1], 'next', string.format('%.0f', now + tonumber(gap)), 'inflight', ARGV[i], 'gap', gap)
    end
  end
  granted = granted + 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', now - 3 * 86400000))
-- Both go by themselves once nothing has been sent for days (a finished broadcast, a deleted session).
redis.call('PEXPIRE', KEYS[1], 7 * 86400000)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 4 * 86400000) end
return granted
`;

/**
 * KEYS: pace. ARGV: index, now. The recipient whose turn it was has finished: the next may go one gap from now (or
 * later, if its turn said so). Another index, or none, leaves the pace as it is.
 */
export const SETTLE = `
local pace = redis.call('HMGET', KEYS[1], 'next', 'inflight', 'gap')
if pace[2] ~= ARGV[1] then return 0 end
local next = math.max(tonumber(pace[1] or '0'), tonumber(ARGV[2]) + tonumber(pace[3] or '0'))
redis.call('HSET', KEYS[1], 'next', string.format('%.0f', next))
redis.call('HDEL', KEYS[1], 'inflight')
return 1
`;
