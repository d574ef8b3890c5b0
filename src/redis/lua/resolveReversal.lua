--[[
  A person's verdict on a reversal_unknown, with its `resolved` audit entry. reversal_settled_at
  stays the time of the call: that is when the money came back, if it did. KEYS: payment, batch,
  audit. ARGV: reversed|not-reversed, reference, by, now, the person's note (may be empty; it ends
  the message), then the entry's fields. Returns 'ok' or the status.
]]
--- @include "includes/recount"
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'reversal_unknown' then return current or 'missing' end
local reversed = ARGV[1] == 'reversed'
local new = reversed and 'reversed' or 'paid'
redis.call('HSET', KEYS[1], 'status', new,
  'reversal_code', reversed and 'RESOLVED_REVERSED' or 'RESOLVED_NOT_REVERSED',
  'reversal_message', (reversed and 'settled by hand as reversed by ' or 'settled by hand as not reversed by ') .. ARGV[3] .. (ARGV[5] ~= '' and (': ' .. ARGV[5]) or ''),
  'reversal_resolved_by', ARGV[3], 'reversal_resolved_at', ARGV[4])
if reversed then redis.call('HSET', KEYS[1], 'reversal_reference', ARGV[2]) end
recount(KEYS[2], 'reversal_unknown', new, tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 6))
return 'ok'
