--[[
  Which of these payments another batch of one account holds, changing nothing. KEYS (as many as
  the call gives): per payment, its holder key, the record key of the batch the caller saw holding
  it (any key of the account's slot when none did) and the bucket of the account's archived holders
  for its id. ARGV: per payment, the holder the caller saw ('' for none) and the payment id. Returns 'stale' when a holder is no longer what the caller saw, else
  per payment '' or the batch that holds it.
]]
--- @include "includes/liveHolder"
--- @include "includes/compactHolder"
local out = {}
for i = 1, #ARGV / 2 do
  local current = redis.call('GET', KEYS[3 * i - 2]) or ''
  if current ~= ARGV[2 * i - 1] then return 'stale' end
  out[i] = live_holder(current, KEYS[3 * i - 1], '') or compact_holder(KEYS[3 * i], ARGV[2 * i], '') or ''
end
return out
