/**
 * Lua scripts of the Redis webhook store (key names: store-redis.ts). Every change that touches a delivery and the
 * sets that find it runs as one script, so lists, counts and "only the oldest pending delivery of a key is due"
 * never disagree, whichever node writes. ARGV[1] is always the key prefix. Times are Redis' own (TIME), as the
 * SQLite store uses its database's clock.
 */
const HELPERS = `
local P = ARGV[1]
local function ek(e, s) return P .. 'e:' .. e .. ':' .. s end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The oldest pending delivery of the key becomes due, unless it is already.
local function head_due(e, k, at)
  local h = redis.call('ZRANGE', ek(e, 'k:' .. k), 0, 0)[1]
  if h and redis.call('HEXISTS', ek(e, 'next'), h) == 0 then redis.call('HSET', ek(e, 'next'), h, at) end
end
-- From one status's sets to another's ('' : from none); the pending ones of a key are its k: set.
local function move(seq, e, k, from, to, created)
  if from == to then return end
  if from ~= '' then redis.call('ZREM', ek(e, 'z:' .. from), seq) end
  redis.call('ZADD', ek(e, 'z:' .. to), seq, seq)
  if from == 'dead' then redis.call('ZREM', P .. 'dead', seq) end
  if to == 'dead' then redis.call('ZADD', P .. 'dead', seq, seq) end
  if from == 'delivered' then redis.call('ZREM', P .. 'delivered', seq) end
  if to == 'delivered' then redis.call('ZADD', P .. 'delivered', created, seq) end
  if from == 'pending' then redis.call('ZREM', ek(e, 'k:' .. k), seq) end
  if to == 'pending' then redis.call('ZADD', ek(e, 'k:' .. k), seq, seq) end
end
local function remove(seq)
  local d = P .. 'd:' .. seq
  local e, k, s, id = unpack(redis.call('HMGET', d, '_e', '_k', '_s', '_i'))
  if not e then return end
  redis.call('ZREM', ek(e, 'z:' .. s), seq)
  if s == 'pending' then redis.call('ZREM', ek(e, 'k:' .. k), seq) end
  redis.call('ZREM', P .. 'dead', seq)
  redis.call('ZREM', P .. 'delivered', seq)
  redis.call('ZREM', ek(e, 'all'), seq)
  redis.call('HDEL', ek(e, 'next'), seq)
  redis.call('HDEL', ek(e, 'ids'), id)
  redis.call('DEL', d)
end
`;

/**
 * ARGV: prefix, then per delivery: id, endpoint id, ordering key, status, createdAt (ms), body, field count, then
 * field/value pairs (each value JSON). A delivery whose id is stored already is not stored again (a batch retried
 * after its answer was lost). Answers each delivery's seq.
 */
export const ADD = `${HELPERS}
local at = now_ms()
local out = {}
local i = 2
while i <= #ARGV do
  local id, e, k, st, created, body, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
  local known = redis.call('HGET', ek(e, 'ids'), id)
  if known then
    out[#out + 1] = tonumber(known)
  else
    local seq = redis.call('INCR', P .. 'seq')
    local first = redis.call('ZCARD', ek(e, 'k:' .. k)) == 0
    redis.call('HSET', P .. 'd:' .. seq, '_i', id, '_e', e, '_k', k, '_s', st, '_c', created, '_b', body, unpack(ARGV, i + 7, i + 6 + 2 * n))
    redis.call('HSET', ek(e, 'ids'), id, seq)
    redis.call('ZADD', ek(e, 'all'), seq, seq)
    redis.call('SADD', P .. 'eids', e)
    move(seq, e, k, '', st, created)
    if st == 'pending' and first then redis.call('HSET', ek(e, 'next'), seq, at) end
    out[#out + 1] = seq
  end
  i = i + 7 + 2 * n
end
return out
`;

/**
 * ARGV: prefix, then per update: seq, fence key or '', fence value, new status or '', next attempt (ms) or '' (not
 * due), set count, field/value pairs, removed count, field names. A fenced update is skipped unless the fence key
 * holds the value (the lease it was made under is still this node's). A delivery leaving pending makes the next one
 * of its key due. Answers 1 or 0 per update (applied or not).
 */
export const UPDATE = `${HELPERS}
local at = now_ms()
local out = {}
local i = 2
while i <= #ARGV do
  local seq, fk, fv, st, nxt, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 5])
  local m = tonumber(ARGV[i + 6 + 2 * n])
  local d = P .. 'd:' .. seq
  local e, k, old, created = unpack(redis.call('HMGET', d, '_e', '_k', '_s', '_c'))
  if e and (fk == '' or redis.call('GET', fk) == fv) then
    if n > 0 then redis.call('HSET', d, unpack(ARGV, i + 6, i + 5 + 2 * n)) end
    if m > 0 then redis.call('HDEL', d, unpack(ARGV, i + 7 + 2 * n, i + 6 + 2 * n + m)) end
    if nxt == '' then redis.call('HDEL', ek(e, 'next'), seq) else redis.call('HSET', ek(e, 'next'), seq, nxt) end
    if st ~= '' and st ~= old then
      redis.call('HSET', d, '_s', st)
      move(seq, e, k, old, st, created)
      if old == 'pending' then head_due(e, k, at) end
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 7 + 2 * n + m
end
return out
`;

/**
 * ARGV: prefix, endpoint id, now (ms), 'id' or 'status', the id or status. Makes those not pending pending and due
 * now, with a new retry period. Answers how many changed.
 */
export const REQUEUE = `${HELPERS}
local e, at = ARGV[2], ARGV[3]
local seqs = {}
if ARGV[4] == 'id' then
  local s = redis.call('HGET', ek(e, 'ids'), ARGV[5])
  if s then seqs = { s } end
else
  seqs = redis.call('ZRANGE', ek(e, 'z:' .. ARGV[5]), 0, -1)
end
local n = 0
for _, seq in ipairs(seqs) do
  local d = P .. 'd:' .. seq
  local k, old, created = unpack(redis.call('HMGET', d, '_k', '_s', '_c'))
  if old and old ~= 'pending' then
    redis.call('HSET', d, '_s', 'pending', 'status', '"pending"')
    redis.call('HDEL', d, 'firstAttemptAt', 'deliveredAt')
    move(seq, e, k, old, 'pending', created)
    redis.call('HSET', ek(e, 'next'), seq, at)
    n = n + 1
  end
end
return n
`;

/** ARGV: prefix, endpoint id, now (ms). Every due delivery of the endpoint is due now, with a new retry period. */
export const RESUME = `${HELPERS}
local e, at = ARGV[2], ARGV[3]
for _, seq in ipairs(redis.call('HKEYS', ek(e, 'next'))) do
  redis.call('HSET', ek(e, 'next'), seq, at)
  redis.call('HDEL', P .. 'd:' .. seq, 'firstAttemptAt')
end
return 1
`;

/**
 * ARGV: prefix, sorted set, start, stop, 'REV' or '', limit (ZRANGE … BYSCORE). Answers, per delivery found:
 * seq, its hash as field/value pairs, and its next attempt (ms) or false.
 */
export const READ = `${HELPERS}
local seqs
if ARGV[5] == 'REV' then
  seqs = redis.call('ZRANGE', ARGV[2], ARGV[3], ARGV[4], 'BYSCORE', 'REV', 'LIMIT', 0, ARGV[6])
else
  seqs = redis.call('ZRANGE', ARGV[2], ARGV[3], ARGV[4], 'BYSCORE', 'LIMIT', 0, ARGV[6])
end
local out = {}
for _, seq in ipairs(seqs) do
  local fields = redis.call('HGETALL', P .. 'd:' .. seq)
  if #fields > 0 then
    local e = redis.call('HGET', P .. 'd:' .. seq, '_e')
    out[#out + 1] = { seq, fields, redis.call('HGET', ek(e, 'next'), seq) }
  end
end
return out
`;

/** ARGV: prefix, before (ms, exclusive), limit. Removes up to limit delivered deliveries created before; answers how many. */
export const PRUNE = `${HELPERS}
local seqs = redis.call('ZRANGE', P .. 'delivered', '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, ARGV[3])
for _, seq in ipairs(seqs) do remove(seq) end
return #seqs
`;

/**
 * ARGV: prefix, endpoint id, limit. Removes up to limit deliveries of the endpoint (a batch at a time, so Redis is
 * never held long); once none is left, its remaining keys. Answers how many were removed.
 */
export const REMOVE_DELIVERIES = `${HELPERS}
local e = ARGV[2]
local seqs = redis.call('ZRANGE', ek(e, 'all'), 0, tonumber(ARGV[3]) - 1)
for _, seq in ipairs(seqs) do remove(seq) end
if #seqs == 0 then
  redis.call('DEL', ek(e, 'next'), ek(e, 'ids'), ek(e, 'all'), ek(e, 'z:pending'), ek(e, 'z:delivered'), ek(e, 'z:dead'))
  redis.call('SREM', P .. 'eids', e)
end
return #seqs
`;

/** ARGV: prefix. Answers endpoint id, pending, delivered and dead counts, for every endpoint with deliveries. */
export const COUNTS = `${HELPERS}
local out = {}
for _, e in ipairs(redis.call('SMEMBERS', P .. 'eids')) do
  out[#out + 1] = { e, redis.call('ZCARD', ek(e, 'z:pending')), redis.call('ZCARD', ek(e, 'z:delivered')), redis.call('ZCARD', ek(e, 'z:dead')) }
end
return out
`;
