--[[
  Removes archived payments' records from Redis, keeping of each only what stops it being paid again:
  where its batch still holds the identity and the payment may have moved money (includes/liveHolder's
  rule), the holder becomes a compact entry in the account's bucket hash, with the holder's remaining
  time to live as its expiry (rememberPaymentsDays; none: for ever). Run once the batch's files are
  written and checked (archive/archive-batch.ts); running it again changes nothing.
  KEYS: per payment its record, its holder and its bucket. ARGV: batchId, then per payment its id.
  Returns how many compact entries it wrote.
]]
--- @include "includes/nowMs"
local batch = ARGV[1]
local kept = 0
for i = 1, #ARGV - 1 do
  local record, holder_key, bucket = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local status, conflict = unpack(redis.call('HMGET', record, 'status', 'conflict_code'))
  if status and redis.call('GET', holder_key) == batch then
    if (status ~= 'failed' and status ~= 'declined') or conflict then
      local ttl = redis.call('PTTL', holder_key)
      redis.call('HSET', bucket, ARGV[i + 1], ttl > 0 and (batch .. ' ' .. (now_ms() + ttl)) or batch)
      kept = kept + 1
    end
    redis.call('DEL', holder_key)
  end
  redis.call('DEL', record)
end
return kept
