-- The batch that holds a payment identity, or nil: a holder whose payment moved nothing (failed,
-- declined) or whose record is gone holds nothing any more, and `self` never holds against itself.
-- A failed payment the provider answered paid after all (a conflict) still holds: it may have moved.
-- The record's key is the holding account's payment prefix, the holder and the payment id.
local function live_holder(holder_key, prefix, payment_id, self)
  local holder = redis.call('GET', holder_key)
  if not holder or holder == self then return nil end
  local status, conflict = unpack(redis.call('HMGET', prefix .. holder .. ':' .. payment_id, 'status', 'conflict_code'))
  if not status then return nil end
  if (status == 'failed' or status == 'declined') and not conflict then return nil end
  return holder
end
