--[[
  paid → reversing, with Redis's clock (ms) at the claim, a new epoch of the claim (its fence,
  includes/newEpoch), and its `reversed` audit entry. KEYS: payment, batch, audit. ARGV: by,
  reason, now, then the entry's fields. Returns {'ok', epoch}, or {status, 0}.
]]
--- @include "includes/recount"
--- @include "includes/nowMs"
--- @include "includes/newEpoch"
-- A batch being archived (archive/archive-batch.ts) no longer changes: what is archived stays true.
if redis.call('HEXISTS', KEYS[2], 'archiving') == 1 then return {'archived', 0} end
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'paid' then return {current or 'missing', 0} end
redis.call('HDEL', KEYS[1], 'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_settled_at', 'reversal_resolved_by', 'reversal_resolved_at')
redis.call('HSET', KEYS[1], 'status', 'reversing', 'reversal_by', ARGV[1], 'reversal_reason', ARGV[2], 'reversal_requested_at', ARGV[3], 'reversal_ms', now_ms())
recount(KEYS[2], 'paid', 'reversing', tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
local epoch = new_epoch(KEYS[1], 'reversal_epoch')
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 4))
return {'ok', epoch}
