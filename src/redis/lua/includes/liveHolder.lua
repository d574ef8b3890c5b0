-- The batch that holds a payment identity, or nil: a holder whose payment moved nothing (failed,
-- declined) or whose record is gone holds nothing any more, and `self` never holds against itself.
-- A failed payment the provider answered paid after all (a conflict) still holds: it may have moved.
-- `record_key`: the holder's payment record, as the caller named it from the holder it read
-- (`seen`, '' for none) before the call; every key is declared, none is built here.
local function live_holder(holder_key, record_key, seen, self)
  local holder = redis.call('GET', holder_key)
  if not holder or holder == self or holder ~= seen then return nil end
  local status, conflict = unpack(redis.call('HMGET', record_key, 'status', 'conflict_code'))
  if not status then return nil end
  if (status == 'failed' or status == 'declined') and not conflict then return nil end
  return holder
end

-- Whether every holder is still what the caller read (KEYS[first], KEYS[first + step], …, against
-- ARGV[seen_first], ARGV[seen_first + 1], …): when one changed, the caller reads again and retries.
local function holders_as_seen(first, step, count, seen_first)
  for i = 0, count - 1 do
    if (redis.call('GET', KEYS[first + i * step]) or '') ~= ARGV[seen_first + i] then return false end
  end
  return true
end
