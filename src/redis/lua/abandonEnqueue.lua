--[[
  Ends an enqueue given up by an operator (BatchLedger.abandon), with its audit entry. KEYS: batch,
  claims set, audit. ARGV: to, the number n of batch fields, the n fields and values, then the
  `abandoned` audit entry's fields. Returns 1, or 0 when the batch was no longer enqueuing.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'enqueuing' then return 0 end
local n = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 3, 2 + n))
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3 + n))
return 1
