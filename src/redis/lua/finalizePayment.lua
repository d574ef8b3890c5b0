--[[
  Sets the final status once and counts it on the batch. Returns 1 recorded, 0 not, 2 a conflict.
    - A definite answer (paid, declined) may replace an in-doubt unknown: a call thought lost can
      still report back.
    - The answer of a call (epoch ARGV[8]; '' for a run that made none) while another run's call
      is under way speaks only for its own: not recorded, but an unknown one leaves the doubt.
      A paid one is recorded: the money moved.
    - failed means nothing was applied: it becomes unknown when any call may have applied (doubt
      recorded, or another run's call cut off). So does 'abandoned' (the job ended without an
      outcome) then, else it becomes failed.
    - A paid answer for a payment already final otherwise (not paid by a person, failed, or paid
      under another reference) is a conflict: kept on the payment and counted on the batch, the
      status left for a person to look at.
    - Once final (not unknown: a person settles that first), the identity is remembered for
      ARGV[6] ms (empty: forever).
  ARGV[9] '1': the answer refused the call (nothing applied): it is not counted in attempts.
  KEYS: payment, batch, holder. ARGV: status, reference, code, message, now, memoryMs, batchId,
  epoch, refused.
]]
--- @include "includes/finalStatuses"
--- @include "includes/recount"
local current, epoch, doubt, reference, resolved = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch', 'may_have_applied', 'reference', 'resolved_by'))
if not current then return 0 end
local new = ARGV[1]
local mine = ARGV[8] ~= '' and (epoch or '0') == ARGV[8]
if current == 'sending' and ARGV[8] ~= '' and not mine and new ~= 'paid' then
  if new == 'unknown' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
  return 0
end
local in_doubt = doubt == '1' or (current == 'sending' and not mine)
if new == 'abandoned' then new = in_doubt and 'unknown' or 'failed' end
local message = ARGV[4]
if new == 'failed' and in_doubt then
  new = 'unknown'
  message = message .. '; an earlier call for this payment may have applied'
end
local upgrade = current == 'unknown' and (new == 'paid' or new == 'declined')
if final[current] and not upgrade then
  if new ~= 'paid' or reference == ARGV[2] then return 0 end
  local conflict = current == 'paid' and 'SECOND_PAID' or ('LATE_PAID_AFTER_' .. string.upper(current))
  if current == 'failed' and resolved then conflict = 'LATE_PAID_AFTER_NOT_PAID' end
  redis.call('HSET', KEYS[1], 'conflict_code', conflict, 'conflict_reference', ARGV[2], 'conflict_message', ARGV[4], 'conflict_at', ARGV[5])
  redis.call('HINCRBY', KEYS[2], 'n_conflict', 1)
  return 2
end
local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
redis.call('HSET', KEYS[1], 'status', new, 'reference', ARGV[2], 'code', ARGV[3], 'message', message, 'settled_at', ARGV[5])
if new == 'unknown' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
if ARGV[9] == '1' and current == 'sending' and mine then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
recount(KEYS[2], upgrade and current or nil, new, cents)
if new ~= 'unknown' and ARGV[6] ~= '' and redis.call('GET', KEYS[3]) == ARGV[7] then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
return 1
