--[[
  Extends a lock (redis/lock.ts) only while this holder still holds it. KEYS: the lock.
  ARGV: the holder's token, ttl in ms. Returns 1 when renewed.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0
