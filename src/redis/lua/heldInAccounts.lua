--[[
  Which of these payments another account holds, changing nothing. KEYS (as many as the call
  gives): per payment, its holder key in each of the m accounts. ARGV: m, the accounts' record key
  prefixes, then the payment ids. Returns, per payment, '' or '<the account's index, from 1>:<the
  batch that holds it>'.
]]
--- @include "includes/liveHolder"
local m = tonumber(ARGV[1])
local out = {}
for i = 1, #ARGV - 1 - m do
  out[i] = ''
  for j = 1, m do
    local holder = live_holder(KEYS[(i - 1) * m + j], ARGV[1 + j], ARGV[1 + m + i], '')
    if holder then out[i] = j .. ':' .. holder; break end
  end
end
return out
