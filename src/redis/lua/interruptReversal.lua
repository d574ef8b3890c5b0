--[[
  reversing → reversal_unknown when the run that claimed it stopped mid-call: its claim is older,
  by Redis's clock, than any call of it can last (ARGV[1] ms). Dated when the call left: when the
  money came back, if it did. KEYS: payment, batch. ARGV: callMs, message.
]]
--- @include "includes/recount"
--- @include "includes/nowMs"
if redis.call('HGET', KEYS[1], 'status') ~= 'reversing' then return 0 end
local claimed, claimed_ms = unpack(redis.call('HMGET', KEYS[1], 'reversal_requested_at', 'reversal_ms'))
if (tonumber(claimed_ms) or 0) + tonumber(ARGV[1]) > now_ms() then return 0 end
redis.call('HSET', KEYS[1], 'status', 'reversal_unknown', 'reversal_code', 'INTERRUPTED', 'reversal_message', ARGV[2], 'reversal_settled_at', claimed)
recount(KEYS[2], 'reversing', 'reversal_unknown', tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
return 1
