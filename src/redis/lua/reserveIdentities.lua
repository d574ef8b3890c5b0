--[[
  On Redis Cluster: reserves payment identities for one account of a provider, in the provider's
  slot (ledger/claims.ts), so that two accounts of the provider never both claim one payment. The
  first account to reserve an identity keeps it. KEYS: per payment, its reservation. ARGV: the
  account, the reserving batch, the reservation's lifetime in ms ('' for ever). Returns per payment
  '' when the account holds the reservation, else '<account>/<batch>' of the account that does.
]]
local out = {}
for i, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
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
