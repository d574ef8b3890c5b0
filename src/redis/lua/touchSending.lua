--[[
  The request of epoch ARGV[2] is repeated within its attempt (after a refusal that applied
  nothing): the call may be under way from now on. Fenced like a mark: refused (0) once another run
  marked the payment, or it was settled, meanwhile (the run may have stalled before its repeat).
  KEYS: payment. ARGV: now, epoch.
]]
--- @include "includes/nowMs"
local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
if status ~= 'sending' or epoch ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'sending_at', ARGV[1], 'sending_ms', now_ms())
return 1
