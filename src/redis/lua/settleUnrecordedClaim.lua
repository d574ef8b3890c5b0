--[[
  A claim an abandoned enqueue made without recording its row (queue/abandon-enqueue.ts), settled
  atomically. Released when the payment has no job and is still queued, never marked sending (a
  job that ran and was removed since may have sent it): its holder (if still this batch) and its
  record go, so a later manifest may pay it. Otherwise a job may pay it, or may have, any moment:
  it is adopted as a row of the batch (after those recorded, in line order) and counted, and
  settles as any other. The batch counts what it released. KEYS: claims set, holder, record,
  batch, rows. ARGV: batchId, paymentId, job exists ('1' or ''), the row's entry, its cents, its
  line. Returns released | adopted | recorded (no longer a claim to settle: its row was recorded
  meanwhile).
]]
if redis.call('SREM', KEYS[1], ARGV[2]) == 0 then return 'recorded' end
local status, epoch = unpack(redis.call('HMGET', KEYS[3], 'status', 'epoch'))
if ARGV[3] == '' and status == 'queued' and (tonumber(epoch) or 0) == 0 then
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  redis.call('DEL', KEYS[3])
  redis.call('HINCRBY', KEYS[4], 'released', 1)
  return 'released'
end
redis.call('RPUSH', KEYS[5], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'accepted', 1)
redis.call('HINCRBY', KEYS[4], 'accepted_cents', ARGV[5])
if tonumber(ARGV[6]) > tonumber(redis.call('HGET', KEYS[4], 'enqueued_line') or '0') then redis.call('HSET', KEYS[4], 'enqueued_line', ARGV[6]) end
return 'adopted'
