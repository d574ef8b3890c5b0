--[[
  On Redis Cluster: reserves payment identities for one account of a provider, in the provider's
  slot (ledger/claims.ts), so that two accounts of the provider never both claim one payment. The
  first account to reserve an identity keeps it; an archived reservation (compactIdentities.lua) is
  kept the same way until it expires. KEYS: per payment, its reservation and its archived bucket.
  ARGV: the account, the reserving batch, the reservation's lifetime in ms ('' for ever), then per
  payment its id. Returns per payment '' when the account holds the reservation, else
  '<account>/<batch>' of the account that does.
]]
--- @include "includes/compactHolder"
local out = {}
for i = 1, #ARGV - 3 do
  local key = KEYS[2 * i - 1]
  local held = redis.call('GET', key) or compact_holder(KEYS[2 * i], ARGV[3 + i], nil)
  if not held then
    if ARGV[3] == '' then redis.call('SET', key, ARGV[1] .. '/' .. ARGV[2])
    else redis.call('SET', key, ARGV[1] .. '/' .. ARGV[2], 'PX', ARGV[3]) end
    out[i] = ''
  elseif string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '/' then
    out[i] = ''
  else
    out[i] = held
  end
end
return out
