--[[
  reversing → reversed | paid | reversal_unknown. A definite answer (reversed, refused) also
  replaces a reversal_unknown, as a payment's does an unknown: a call thought lost reported back.
  Only the claim that sent the request (its epoch, claimReversal.lua) records its answer: a claim
  a failover lost never takes back the claim made since on the older copy.
  KEYS: payment, batch. ARGV: to, definite, reference, code, message, now, the claim's epoch.
  Returns 1 if recorded.
]]
--- @include "includes/recount"
local current, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'reversal_epoch'))
if epoch ~= ARGV[7] then return 0 end
local upgrade = current == 'reversal_unknown' and ARGV[2] == '1'
if current ~= 'reversing' and not upgrade then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reversal_code', ARGV[4], 'reversal_message', ARGV[5], 'reversal_settled_at', ARGV[6])
if ARGV[1] == 'reversed' then redis.call('HSET', KEYS[1], 'reversal_reference', ARGV[3]) end
recount(KEYS[2], current, ARGV[1], tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
return 1
