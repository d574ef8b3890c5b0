--[[
  Gives a request to a provider account its start time (limits/account-gate.ts). KEYS: the log
  (ZSET: request id → when it stops counting), its entries whose answer is not back (ZSET, the same
  scores), the next start allowed by spacing, the account's pause. ARGV: request id, max, perMs,
  marginMs, spacing. Returns the ms to wait before sending; negative: before asking again (the
  account is paused, or see below).
]]
local paused = redis.call('PTTL', KEYS[4])
if paused > 0 then return -paused end
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local max, per = tonumber(ARGV[2]), tonumber(ARGV[3])
local start = math.max(now, tonumber(redis.call('GET', KEYS[3]) or 0))
local counting = redis.call('ZCARD', KEYS[1])
if counting >= max then
  -- Fewer than max count once the (counting - max + 1) entries that stop first have stopped.
  local stops = redis.call('ZRANGE', KEYS[1], counting - max, counting - max, 'WITHSCORES')
  local stop = tonumber(stops[2])
  -- That one's answer is not back: it stops a window after the answer (not before now + perMs),
  -- or with the margin if none comes. Ask again then rather than take the margin's time.
  if redis.call('ZSCORE', KEYS[2], stops[1]) then return -math.max(1, math.ceil(math.min(stop - now, per))) end
  start = math.max(start, stop)
end
local counts_until = start + per + tonumber(ARGV[4])
local ttl = math.ceil(counts_until - now)
redis.call('ZADD', KEYS[1], counts_until, ARGV[1])
redis.call('ZADD', KEYS[2], counts_until, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
local next_start = start + tonumber(ARGV[5])
redis.call('SET', KEYS[3], tostring(next_start), 'PX', math.ceil(next_start - now) + 1)
return math.ceil(start - now)
