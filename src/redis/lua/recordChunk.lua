--[[
  Records a chunk of an enqueue's rows, its counts and its progress at once, while the batch is
  enqueuing and queued up to ARGV[1] exactly (BatchLedger.recordChunk). KEYS: batch, rows, claims
  set. ARGV: after, lastLine, accepted, cents, rejected, duplicates, the number of rows, the rows,
  then the payment ids they record (no longer claims waiting for a row). Returns 'ok', or the
  batch's state and enqueued_line that refused the chunk.
]]
local state = redis.call('HGET', KEYS[1], 'state') or 'missing'
local at = redis.call('HGET', KEYS[1], 'enqueued_line') or '0'
if state ~= 'enqueuing' or tonumber(at) ~= tonumber(ARGV[1]) then return {state, at} end
local rows = tonumber(ARGV[7])
if rows > 0 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 8, 7 + rows)) end
if #ARGV > 7 + rows then redis.call('SREM', KEYS[3], unpack(ARGV, 8 + rows)) end
redis.call('HINCRBY', KEYS[1], 'accepted', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'accepted_cents', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'rejected', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'duplicates', ARGV[6])
redis.call('HSET', KEYS[1], 'enqueued_line', ARGV[2])
return 'ok'
