-- A new person (people/people.ts), refused when the name is taken: of two adds of one name at once
-- one wins. KEYS: person hash, people set, audit stream. ARGV: name, role, hash, added_by, then the
-- audit entry's fields. Answers 1, or 0 when the name is taken.
--- @include "includes/nowMs"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = now_ms()
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'role', ARGV[2], 'password_hash', ARGV[3], 'added_by', ARGV[4], 'added_ms', now, 'password_set_ms', now)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 5))
return 1
