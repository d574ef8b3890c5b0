--[[
  Keeps the first key offered for a payment and returns the kept one. KEYS: payment. ARGV: key.
]]
redis.call('HSETNX', KEYS[1], 'idem_key', ARGV[1])
return redis.call('HGET', KEYS[1], 'idem_key')
