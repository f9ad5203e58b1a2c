/**
 * Lua scripts of the Redis broadcast store. Every change that touches more than one key runs as one script, so a
 * recipient's status, the per-status sets that `counts` and `pending` read, the message map and the session's
 * queue times never disagree, whoever else writes at the same moment. Key names: see store-redis.ts.
 * Redis' Lua cannot unpack more than a few thousand values at once, so long lists go through in chunks.
 */
const HELPERS = `
local function chunked(cmd, key, items, step)
  for i = 1, #items, step do
    redis.call(cmd, key, unpack(items, i, math.min(i + step - 1, #items)))
  end
end
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, 1000 do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + 999, #fields)))
    for _, v in ipairs(part) do out[#out + 1] = v end
  end
  return out
end
`;

/**
 * KEYS: broadcast. ARGV: prefix, id, sessionId, status, createdAt (ms), field/value count, field/value pairs,
 * then per recipient: index, {to, vars} JSON, state JSON, status, messageId or '', queuedAt (ms) or ''.
 * Refuses an id already in use before writing anything.
 */
export const CREATE = `${HELPERS}
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('ERR broadcast ' .. ARGV[2] .. ' exists') end
local prefix, id, sid = ARGV[1], ARGV[2], ARGV[3]
local b = prefix .. 'b:' .. id
local nfields = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(ARGV, 7, 6 + nfields))
redis.call('SADD', prefix .. 'status:' .. ARGV[4], id)
redis.call('ZADD', prefix .. 'session:' .. sid, ARGV[5], id)
local to, st, all, byStatus, msgs, queued = {}, {}, {}, {}, {}, {}
for i = 7 + nfields, #ARGV, 6 do
  local idx, status, msg, q = ARGV[i], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  to[#to + 1] = idx; to[#to + 1] = ARGV[i + 1]
  st[#st + 1] = idx; st[#st + 1] = ARGV[i + 2]
  all[#all + 1] = idx; all[#all + 1] = idx
  byStatus[status] = byStatus[status] or {}
  local z = byStatus[status]
  z[#z + 1] = idx; z[#z + 1] = idx
  if msg ~= '' then msgs[#msgs + 1] = msg; msgs[#msgs + 1] = id .. ':' .. idx end
  if q ~= '' then queued[#queued + 1] = q; queued[#queued + 1] = id .. ':' .. idx end
end
if #to > 0 then
  chunked('HSET', b .. ':to', to, 1000)
  chunked('HSET', b .. ':st', st, 1000)
  chunked('ZADD', b .. ':i', all, 1000)
end
for status, z in pairs(byStatus) do chunked('ZADD', b .. ':z:' .. status, z, 1000) end
if #msgs > 0 then chunked('HSET', prefix .. 'msg', msgs, 1000) end
if #queued > 0 then chunked('ZADD', prefix .. 'queued:' .. sid, queued, 1000) end
return 1
`;

/**
 * KEYS: broadcast. ARGV: prefix, id, new status or '', new createdAt (ms) or '', field/value count, pairs, then
 * fields to remove. An unknown broadcast stays unknown.
 */
export const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local prefix, id, status, created = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if status ~= '' then
  local old = cjson.decode(redis.call('HGET', KEYS[1], 'status'))
  if old ~= status then
    redis.call('SREM', prefix .. 'status:' .. old, id)
    redis.call('SADD', prefix .. 'status:' .. status, id)
  end
end
if created ~= '' then
  local sid = cjson.decode(redis.call('HGET', KEYS[1], 'sessionId'))
  redis.call('ZADD', prefix .. 'session:' .. sid, created, id)
end
local nfields = tonumber(ARGV[5])
if nfields > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 6, 5 + nfields)) end
if #ARGV > 5 + nfields then redis.call('HDEL', KEYS[1], unpack(ARGV, 6 + nfields, #ARGV)) end
return 1
`;

/**
 * ARGV: prefix, then per update: broadcast id, index, state fields to set (JSON), {to, vars} fields to set (JSON),
 * '1' to remove vars, queuedAt (ms) or '', state fields to remove (comma-separated). Updates apply in order; the
 * merge happens here, not in the caller, so concurrent patches of one recipient all land. A recipient that does
 * not exist (its broadcast removed) is left alone.
 */
export const UPDATE_RECIPIENTS = `
local prefix, msg = ARGV[1], ARGV[1] .. 'msg'
for a = 2, #ARGV, 7 do
  local id, idx = ARGV[a], ARGV[a + 1]
  local b, member = prefix .. 'b:' .. id, id .. ':' .. idx
  local raw = redis.call('HGET', b .. ':st', idx)
  if raw then
    local st = cjson.decode(raw)
    local before = { status = st.status, messageId = st.messageId, queuedAt = st.queuedAt }
    for k, v in pairs(cjson.decode(ARGV[a + 2])) do st[k] = v end
    for k in string.gmatch(ARGV[a + 6], '[^,]+') do st[k] = nil end
    redis.call('HSET', b .. ':st', idx, cjson.encode(st))
    local who, dropVars = cjson.decode(ARGV[a + 3]), ARGV[a + 4] == '1'
    if dropVars or next(who) ~= nil then
      local identity = cjson.decode(redis.call('HGET', b .. ':to', idx))
      for k, v in pairs(who) do identity[k] = v end
      if dropVars then identity.vars = nil end
      redis.call('HSET', b .. ':to', idx, cjson.encode(identity))
    end
    if st.status ~= before.status then
      redis.call('ZREM', b .. ':z:' .. before.status, idx)
      redis.call('ZADD', b .. ':z:' .. st.status, idx, idx)
    end
    if st.messageId ~= before.messageId then
      if before.messageId and redis.call('HGET', msg, before.messageId) == member then redis.call('HDEL', msg, before.messageId) end
      if st.messageId then redis.call('HSET', msg, st.messageId, member) end
    end
    if st.queuedAt ~= before.queuedAt then
      local q = prefix .. 'queued:' .. cjson.decode(redis.call('HGET', b, 'sessionId'))
      if st.queuedAt then redis.call('ZADD', q, ARGV[a + 5], member) else redis.call('ZREM', q, member) end
    end
  end
end
return 1
`;

/**
 * KEYS: an index set (all, or one status'), recipients' {to, vars}, recipients' states. ARGV: lowest index, limit.
 * Returns the indexes with both halves of each, read at one instant.
 */
export const READ_RECIPIENTS = `${HELPERS}
local idx = redis.call('ZRANGE', KEYS[1], ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, ARGV[2])
if #idx == 0 then return { {}, {}, {} } end
return { idx, hmget(KEYS[2], idx), hmget(KEYS[3], idx) }
`;

/** KEYS: the per-status index sets, in the order the caller wants the counts. */
export const COUNTS = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('ZCARD', key) end
return out
`;

/**
 * KEYS: broadcast. ARGV: prefix, id, every recipient status. Removes the broadcast, its recipients and every entry
 * that points at them (status set, session list, message map, queue times).
 */
export const REMOVE = `
local raw = redis.call('HMGET', KEYS[1], 'sessionId', 'status')
if not raw[1] then return 0 end
local prefix, id = ARGV[1], ARGV[2]
local b, sid = prefix .. 'b:' .. id, cjson.decode(raw[1])
local q, msg = prefix .. 'queued:' .. sid, prefix .. 'msg'
local states = redis.call('HGETALL', b .. ':st')
for i = 1, #states, 2 do
  local member, st = id .. ':' .. states[i], cjson.decode(states[i + 1])
  if st.messageId and redis.call('HGET', msg, st.messageId) == member then redis.call('HDEL', msg, st.messageId) end
  if st.queuedAt then redis.call('ZREM', q, member) end
end
redis.call('SREM', prefix .. 'status:' .. cjson.decode(raw[2]), id)
redis.call('ZREM', prefix .. 'session:' .. sid, id)
local keys = { KEYS[1], b .. ':to', b .. ':st', b .. ':i' }
for i = 3, #ARGV do keys[#keys + 1] = b .. ':z:' .. ARGV[i] end
redis.call('UNLINK', unpack(keys))
return 1
`;
