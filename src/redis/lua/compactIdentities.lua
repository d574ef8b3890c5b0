--[[
  On Redis Cluster: turns archived payments' identity reservations (reserveIdentities.lua) into
  compact entries in the provider's bucket hashes (RedisKeys.archivedIdentities), saying the same
  (`<account>/<batch>`) for as long as each had left to live (none: for ever). A reservation only
  changes form, so it may run before or after the payments' own compaction, and again: a reservation
  already moved is not found. Where no account reserved the ids (one Redis), it finds none.
  KEYS: per payment its reservation and its bucket. ARGV: per payment its id. Returns how many it moved.
]]
--- @include "includes/nowMs"
local moved = 0
for i = 1, #ARGV do
  local reservation, bucket = KEYS[2 * i - 1], KEYS[2 * i]
  local held = redis.call('GET', reservation)
  if held then
    local ttl = redis.call('PTTL', reservation)
    redis.call('HSET', bucket, ARGV[i], ttl > 0 and (held .. ' ' .. (now_ms() + ttl)) or held)
    redis.call('DEL', reservation)
    moved = moved + 1
  end
end
return moved
