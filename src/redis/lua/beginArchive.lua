--[[
  Marks a settled batch as being archived (archive/archive-batch.ts): from here on no retry or
  reversal changes it (retryPayment.lua and claimReversal.lua refuse), so the files written next
  hold what the ledger holds. KEYS: batch, the account's open batches. ARGV: batchId, now (ISO).
  Returns 'ok', or why not: 'missing', the state, 'open' (the sweeper still looks after it),
  'unsettled'.
]]
local state, final, accepted = unpack(redis.call('HMGET', KEYS[1], 'state', 'final', 'accepted'))
if not state then return 'missing' end
if state ~= 'enqueued' and state ~= 'canceled' then return state end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'open' end
if tonumber(final or '0') < tonumber(accepted or '0') then return 'unsettled' end
redis.call('HSET', KEYS[1], 'archiving', ARGV[2])
return 'ok'
