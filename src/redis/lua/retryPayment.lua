--[[
  A failed payment (nothing applied) goes round again: queued, under a new round number, if its
  batch still holds the identity. The batch is open again in the same step, so the sweeper looks
  after the payment should its job be lost. KEYS (as many as the call gives): payment, batch,
  holder, open batches, audit, the bucket of the account's archived holders for the payment id (a
  later batch that paid it may be archived: its holder is then compact); then for each of the
  provider's other accounts (one Redis) the payment's holder, the record of the batch the caller saw
  holding it, and its archived holders' bucket (ledger/claims.ts holderKeys). ARGV: batchId, m (other
  accounts), the holder seen in each, then the `retried` audit entry's fields. Returns the new round,
  or the status / 'held:<batch>' / 'conflict:<code>' / 'stale' (a holder changed since it was read)
  that prevents it.
]]
--- @include "includes/recount"
--- @include "includes/liveHolder"
--- @include "includes/compactHolder"
-- A batch being archived (archive/archive-batch.ts) no longer changes: what is archived stays true.
if redis.call('HEXISTS', KEYS[2], 'archiving') == 1 then return 'archived' end
local current, conflict = unpack(redis.call('HMGET', KEYS[1], 'status', 'conflict_code'))
if current ~= 'failed' then return current or 'missing' end
-- The provider said paid after all: sending it again would pay twice until a person looks.
if conflict then return 'conflict:' .. conflict end
local payment_id = redis.call('HGET', KEYS[1], 'payment_id')
local holder = redis.call('GET', KEYS[3]) or compact_holder(KEYS[6], payment_id, ARGV[1])
if holder and holder ~= ARGV[1] then return 'held:' .. holder end
-- Another account of the provider may have paid it since it failed here.
local m = tonumber(ARGV[2])
for j = 1, m do
  local now_held = redis.call('GET', KEYS[4 + 3 * j]) or ''
  if now_held ~= ARGV[2 + j] then return 'stale' end
  local other = live_holder(now_held, KEYS[5 + 3 * j], ARGV[1]) or compact_holder(KEYS[6 + 3 * j], payment_id, ARGV[1])
  if other then return 'held:' .. other end
end
redis.call('SET', KEYS[3], ARGV[1])
local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('HDEL', KEYS[1], 'settled_at')
recount(KEYS[2], 'failed', nil, cents)
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', unpack(ARGV, 3 + m))
return tostring(redis.call('HINCRBY', KEYS[1], 'round', 1))
