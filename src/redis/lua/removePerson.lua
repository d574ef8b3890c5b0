-- A person removed (people/people.ts). KEYS: person hash, people set, audit stream. ARGV: name, then
-- the audit entry's fields. Answers 1, or 0 when there is no such person.
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 2))
return 1
