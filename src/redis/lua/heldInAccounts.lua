--[[
  Which of these payments another batch of one account holds, changing nothing. KEYS (as many as
  the call gives): per payment, its holder key and the record key of the batch the caller saw
  holding it (any key of the account's slot when none did). ARGV: per payment, the holder the
  caller saw ('' for none). Returns 'stale' when a holder is no longer what the caller saw, else
  per payment '' or the batch that holds it.
]]
--- @include "includes/liveHolder"
local out = {}
for i = 1, #ARGV do
  local current = redis.call('GET', KEYS[2 * i - 1]) or ''
  if current ~= ARGV[i] then return 'stale' end
  out[i] = live_holder(current, KEYS[2 * i], '') or ''
end
return out
