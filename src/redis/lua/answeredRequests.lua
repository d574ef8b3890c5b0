--[[
  These requests' answers are back: each counts until perMs from now at the latest
  (limits/account-gate.ts). KEYS: the log, its unanswered entries. ARGV: perMs, then the request ids.
]]
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.ceil(clock[2] / 1000)
local stop = now + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', 'LT', stop, ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return 1
