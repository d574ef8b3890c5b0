--[[
  The answer to the call of epoch ARGV[1] says: try again later. Only that call's run may turn it
  back to queued; a run that made no call (its login or lookup failed) changes nothing, so a call
  cut off earlier stays in doubt. KEYS: payment. ARGV: epoch, code, message, mayHaveApplied ('1':
  the answer was lost, and a resend is safe), refused ('1': nothing was applied; the call is not
  counted in attempts).
]]
local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
if status ~= 'sending' or epoch ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'code', ARGV[2], 'message', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
return 1
