-- Failed console sign-ins in a row, by name (KEYS[1]) and by address (KEYS[2]), each a hash
-- {count, last_ms} that expires window_ms after its last failure (people/sign-in-throttle.ts).
-- ARGV: op ('check' | 'fail' | 'clear'), free failures by name, free failures by address (many
-- people may share one), window_ms, cap_ms. Answers how many ms must pass before the next attempt is
-- heard: 0 once none must. After the free failures each further one doubles the wait (1 s, 2 s,
-- 4 s, ... up to cap_ms), by Redis's clock.
--- @include "includes/nowMs"
local op = ARGV[1]
local window = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local now = now_ms()

local function wait_for(key, free)
  local count = tonumber(redis.call('HGET', key, 'count') or '0')
  if count < free then return 0 end
  local last = tonumber(redis.call('HGET', key, 'last_ms') or '0')
  local wait = math.min(cap, 1000 * 2 ^ (count - free))
  return math.max(0, last + wait - now)
end

if op == 'clear' then
  redis.call('DEL', KEYS[1])
  return 0
end
if op == 'fail' then
  for _, key in ipairs(KEYS) do
    redis.call('HINCRBY', key, 'count', 1)
    redis.call('HSET', key, 'last_ms', now)
    redis.call('PEXPIRE', key, window)
  end
end
return math.max(wait_for(KEYS[1], tonumber(ARGV[2])), wait_for(KEYS[2], tonumber(ARGV[3])))
