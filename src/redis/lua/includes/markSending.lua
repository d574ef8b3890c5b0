--- @include "nowMs"
--- @include "newEpoch"

-- A call is about to leave: recorded with Redis's time, the key it carries (a key kept earlier
-- stays) and a new epoch (includes/newEpoch), which it returns. sending_at is the same moment for
-- people to read.
local function mark_sending(payment, at, idempotency_key)
  redis.call('HSET', payment, 'status', 'sending', 'sending_at', at, 'sending_ms', now_ms())
  redis.call('HSETNX', payment, 'idem_key', idempotency_key)
  redis.call('HINCRBY', payment, 'attempts', 1)
  return new_epoch(payment, 'epoch')
end
