--[[
  The mark of epoch ARGV[1] could not be made durable before its request left (sending/durability.ts),
  so the request is not sent: the payment is as it was before the mark. Should this write be lost
  in turn, the payment stays sending: in doubt, which is safe. KEYS: payment.
]]
local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
if status ~= 'sending' or epoch ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
return 1
