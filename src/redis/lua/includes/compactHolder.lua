--- @include "nowMs"
-- The batch holding a payment in the archive (archive/): what stays of an archived payment that
-- moved money is a compact entry, `<batch>` or `<batch> <expiry ms>`, in the account's bucket hash
-- for the id (RedisKeys.archivedHolders). An expired entry, or `self`, holds nothing. Returns the
-- batch, or nil. An archived reservation (RedisKeys.archivedIdentities) is read the same way, its
-- `<account>/<batch>` in place of the batch.
local function compact_holder(bucket_key, payment_id, self)
  local held = redis.call('HGET', bucket_key, payment_id)
  if not held then return nil end
  local batch, expires = string.match(held, '^(%S+) ?(%d*)$')
  if expires ~= '' and tonumber(expires) <= now_ms() then return nil end
  if batch == self then return nil end
  return batch
end
