--[[
  Which of these payments another batch of one account holds, changing nothing. KEYS (as many as
  the call gives): per payment, its holder key and the record key of the batch the caller saw
  holding it (any key of the account's slot when none did). ARGV: per payment, the holder the
  caller saw ('' for none). Returns 'stale' when a holder is no longer what the caller saw, else
  per payment '' or the batch that holds it.
]]
--- @include "includes/liveHolder"
local n = #ARGV
if not holders_as_seen(1, 2, n, 1) then return 'stale' end
local out = {}
for i = 1, n do
  out[i] = live_holder(KEYS[2 * i - 1], KEYS[2 * i], ARGV[i], '') or ''
end
return out
