-- Maker-checker where money moves: no payment of a batch is marked sending until the batch has a
-- recorded approval (`approved_by`), if either the submitter's rule (`needs_approval`, written at
-- submission) or the sending worker's own rule for the batch's total (ARGV[f] '1') requires one. In
-- the marking script itself, so no approval, cancellation or hold can fall between the check and
-- the mark. A worker whose rule is the stricter holds the batch here, once: needs_approval and
-- held_* are written, an enqueued batch moves to awaiting_approval (an enqueuing one ends there,
-- BatchLedger.finishEnqueue) and the `held` audit entry is appended. KEYS[2]: batch, KEYS[3]: audit
-- stream. ARGV from f: '1' (the worker's rule requires approval) or '', then its reason, the
-- worker's identity, now, and the audit entry's fields. Returns true when the mark must not be made.
local function approval_missing(f)
  local state, needs, approved = unpack(redis.call('HMGET', KEYS[2], 'state', 'needs_approval', 'approved_by'))
  if approved then return false end
  if ARGV[f] ~= '1' or not state then return needs == '1' or ARGV[f] == '1' end
  if needs ~= '1' then
    redis.call('HSET', KEYS[2], 'needs_approval', '1', 'held_reason', ARGV[f + 1], 'held_by', ARGV[f + 2], 'held_at', ARGV[f + 3])
  end
  if state == 'enqueued' then redis.call('HSET', KEYS[2], 'state', 'awaiting_approval') end
  if needs ~= '1' or state == 'enqueued' then redis.call('XADD', KEYS[3], '*', unpack(ARGV, f + 4)) end
  return true
end
