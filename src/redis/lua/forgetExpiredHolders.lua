--[[
  Removes the compact holders (archive/) whose time to remember has passed, by Redis's clock, from
  one bucket: an expired one holds nothing already (includes/compactHolder), this frees its bytes.
  A bucket of compact reservations (compactIdentities.lua) is the same format, forgotten the same way.
  KEYS: the bucket. Returns how many it removed.
]]
--- @include "includes/nowMs"
local now = now_ms()
local entries = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #entries, 2 do
  local expires = string.match(entries[i + 1], ' (%d+)$')
  if expires and tonumber(expires) <= now then gone[#gone + 1] = entries[i] end
end
-- HDEL in slices: unpack is limited by Lua's stack.
for at = 1, #gone, 1000 do redis.call('HDEL', KEYS[1], unpack(gone, at, math.min(at + 999, #gone))) end
return #gone
