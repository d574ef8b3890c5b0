--[[
  The careful way to mark a payment sending. KEYS: payment, batch, audit. ARGV: now,
  doubtResolvable, idempotency key, the epoch the run saw, then the approval fence's (from 5).
  Returns {permission, epoch}: ready | ready-in-doubt (marked, new epoch) | in-doubt | final |
  missing | stale (another run marked it since this one looked) | needs-approval (the batch is not
  approved: nothing sent; a payment found sending is queued again, in doubt, as a lost answer
  leaves it: its call cannot still be under way, the run waited for that, and it settles once the
  batch is approved or canceled).
]]
--- @include "includes/finalStatuses"
--- @include "includes/markSending"
--- @include "includes/approvalFence"
local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
if not status then return {'missing', 0} end
if final[status] then return {'final', 0} end
if (epoch or '0') ~= ARGV[4] then return {'stale', 0} end
if status == 'sending' then
  redis.call('HSET', KEYS[1], 'may_have_applied', '1')
  if ARGV[2] ~= '1' then return {'in-doubt', 0} end
end
if approval_missing(5) then
  if status == 'sending' then redis.call('HSET', KEYS[1], 'status', 'queued') end
  return {'needs-approval', 0}
end
local marked = mark_sending(KEYS[1], ARGV[1], ARGV[3])
if redis.call('HGET', KEYS[1], 'may_have_applied') == '1' then return {'ready-in-doubt', marked} end
return {'ready', marked}
