--[[
  The common case in one step: a payment queued with nothing in doubt (its first call, or a retry
  after an answer that applied nothing) is marked sending, whoever looked at it before: nothing
  can have been applied. Anything else changes nothing: {'not-fresh', 0}; a batch not approved
  that needs it: {'needs-approval', 0}. KEYS: payment, batch, audit. ARGV: now, key, then the
  approval fence's (from 3).
]]
--- @include "includes/markSending"
--- @include "includes/approvalFence"
local status, doubt = unpack(redis.call('HMGET', KEYS[1], 'status', 'may_have_applied'))
if status ~= 'queued' or doubt == '1' then return {'not-fresh', 0} end
if approval_missing(3) then return {'needs-approval', 0} end
return {'ready', mark_sending(KEYS[1], ARGV[1], ARGV[2])}
