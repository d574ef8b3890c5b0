-- A console session as it is used (people/sessions.ts). KEYS[1] the session hash.
-- ARGV: idle_ms, absolute_ms. Answers the session's fields (flat), or nil when there is none or it
-- is older than absolute_ms; the key then lives idle_ms more, never past its absolute end. Redis's
-- clock decides, not a dashboard's.
--- @include "includes/nowMs"
local idle = tonumber(ARGV[1])
local absolute = tonumber(ARGV[2])
local created = tonumber(redis.call('HGET', KEYS[1], 'created_ms'))
if not created then return nil end
local left = created + absolute - now_ms()
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return nil
end
redis.call('PEXPIRE', KEYS[1], math.min(idle, left))
return redis.call('HGETALL', KEYS[1])
