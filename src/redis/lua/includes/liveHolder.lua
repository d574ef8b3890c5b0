-- Whether the batch `holder` (read from a payment identity's holder key; '' for none) holds the
-- payment: a holder whose payment moved nothing (failed, declined) or whose record is gone holds
-- nothing any more, and `self` never holds against itself. A failed payment the provider answered
-- paid after all (a conflict) still holds: it may have moved. `record_key`: the holder's payment
-- record, as the caller named it from the holder it read before the call; every key is declared,
-- none is built here. Returns the holder, or nil.
local function live_holder(holder, record_key, self)
  if holder == '' or holder == self then return nil end
  local status, conflict = unpack(redis.call('HMGET', record_key, 'status', 'conflict_code'))
  if not status then return nil end
  if (status == 'failed' or status == 'declined') and not conflict then return nil end
  return holder
end
