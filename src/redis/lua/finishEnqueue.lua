--[[
  Ends an enqueue that recorded every row through ARGV[2]: the batch moves on to ARGV[1], or awaits
  approval all the same when a worker's own rule held it meanwhile (BatchLedger.finishEnqueue).
  KEYS: batch, claims set. ARGV: to, lastLine. Returns 1, or 0 when it was no longer this
  enqueue's to end.
]]
local state, at, needs, approved = unpack(redis.call('HMGET', KEYS[1], 'state', 'enqueued_line', 'needs_approval', 'approved_by'))
if state ~= 'enqueuing' then return 0 end
if tonumber(at or '0') ~= tonumber(ARGV[2]) then return 0 end
local to = ARGV[1]
if needs == '1' and not approved then to = 'awaiting_approval' end
redis.call('HSET', KEYS[1], 'state', to)
redis.call('DEL', KEYS[2])
return 1
