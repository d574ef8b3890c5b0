--[[
  What a run looks at before it decides: status, doubt, kept key, epoch, and how much longer the
  call marked at sending_ms may still be under way (ARGV[1]: how long a call can be, in ms): while
  sending, and after a lost answer (in doubt), since the provider may still be working on it.
  KEYS: payment.
]]
--- @include "includes/nowMs"
local status, sending_ms, doubt, key, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'sending_ms', 'may_have_applied', 'idem_key', 'epoch'))
if not status then return {} end
local in_flight = 0
if status == 'sending' or doubt == '1' then in_flight = math.max(0, (tonumber(sending_ms) or 0) + tonumber(ARGV[1]) - now_ms()) end
return {status, doubt or '', key or '', epoch or '0', in_flight}
