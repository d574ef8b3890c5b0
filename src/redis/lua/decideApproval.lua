--[[
  Moves a batch awaiting approval on (BatchLedger.decide), with its audit entry. KEYS: batch,
  audit. ARGV: to, the number n of batch fields, the n fields and values, then the audit entry's
  fields. Returns 1, or 0 when the batch was not awaiting approval.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'awaiting_approval' then return 0 end
local n = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 3, 2 + n))
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3 + n))
return 1
