-- A person's new password hash (people/people.ts), only while they exist: a reset racing a removal
-- does not bring them back. KEYS: person hash, audit stream. ARGV: hash, then the audit entry's
-- fields. Answers 1, or 0 when there is no such person.
--- @include "includes/nowMs"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[1], 'password_set_ms', now_ms())
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
return 1
