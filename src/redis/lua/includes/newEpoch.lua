-- A new epoch for the claim recorded in `field` of `hash` (a payment's sending mark, its reversal's
-- claim), which it stores and returns. The epoch fences the claim's request and answers, so no two
-- claims may share one, even across a loss of writes: Redis failing over to an older copy forgets
-- the last claims, and a counter would hand the next claim on that copy the number of a forgotten
-- one, whose run (stalled meanwhile) would then take the new claim for its own and send again. So
-- the epoch is Redis's clock in microseconds (above the last epoch if that is later): the next claim
-- on any copy is made later than a forgotten one. Two claims could share an epoch only if the server
-- taking over read the very microsecond the lost claim's server had read, its clock behind by
-- exactly the time between them.
local function new_epoch(hash, field)
  local t = redis.call('TIME')
  local epoch = math.max(tonumber(redis.call('HGET', hash, field) or '0') + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('HSET', hash, field, string.format('%.0f', epoch))
  return epoch
end
