--[[
  A person settles an unknown payment: paid (with the provider's reference) or not paid, which
  makes it a failed payment that `retry` may send again. From then on its identity is remembered
  for ARGV[5] ms (empty: forever). KEYS: payment, batch, holder, audit. ARGV: paid|not-paid,
  reference, by, now, memoryMs, batchId, the person's note (may be empty; it ends the message), then
  the `resolved` audit entry's fields. Returns 'ok' or the payment's status.
]]
--- @include "includes/recount"
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'unknown' then return current or 'missing' end
local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
local new = ARGV[1] == 'paid' and 'paid' or 'failed'
local message = ARGV[1] == 'paid' and ('settled by hand as paid by ' .. ARGV[3]) or ('settled by hand as not paid by ' .. ARGV[3])
if ARGV[7] ~= '' then message = message .. ': ' .. ARGV[7] end
redis.call('HSET', KEYS[1], 'status', new, 'code', ARGV[1] == 'paid' and 'RESOLVED_PAID' or 'RESOLVED_NOT_PAID',
  'message', message, 'resolved_by', ARGV[3], 'resolved_at', ARGV[4], 'settled_at', ARGV[4])
if ARGV[1] == 'paid' then redis.call('HSET', KEYS[1], 'reference', ARGV[2]) end
-- The person checked with the provider: nothing is in doubt any more.
redis.call('HDEL', KEYS[1], 'may_have_applied')
recount(KEYS[2], 'unknown', new, cents)
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) == ARGV[6] then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
redis.call('XADD', KEYS[4], '*', unpack(ARGV, 8))
return 'ok'
