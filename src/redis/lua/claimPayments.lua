--[[
  Claims each payment's identity for a batch and records the payment (status queued). A payment
  held by another batch of this account, or of one of the `m` other accounts given (the same
  provider: the same payment must not be paid through two accounts), is not claimed. While the
  batch is enqueuing, what it claims is listed in its claims set until its rows are recorded.
  KEYS (as many as the call gives): batch, claims set, then per payment its new record key, then
  for this account and each other account the payment's holder key, the record key of the batch
  the caller saw holding it (any key of that account's slot when none did) and the bucket of the
  account's archived holders for the payment id (includes/compactHolder). ARGV: n, m, batchId,
  provider, account, now, then per payment line, paymentId, payee, cents, fields (JSON, kept one
  hash field each named `f.<name>`: PROVIDER_FIELD of ledger/claims.ts), participant id ('' for
  none), reimbursement ('1' or ''); then per payment and account the holder the caller saw ('' for
  none). Returns 'stale' when a holder is no longer what the caller saw, else per
  payment '' when this batch holds it, else the batch that does.
]]
--- @include "includes/liveHolder"
--- @include "includes/compactHolder"
local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch = ARGV[3]
local per_payment = 1 + 3 * (1 + m)
local seen_first = 7 + n * 7
local out, claimed = {}, {}
local function remember_claims()
  if #claimed > 0 and redis.call('HGET', KEYS[1], 'state') == 'enqueuing' then redis.call('SADD', KEYS[2], unpack(claimed)) end
end
for i = 1, n do
  local k = 2 + (i - 1) * per_payment
  local b = 6 + (i - 1) * 7
  local s = seen_first + (i - 1) * (1 + m)
  local payment_id = ARGV[b + 2]
  local holder = nil
  for j = 0, m do
    local current = redis.call('GET', KEYS[k + 2 + 3 * j]) or ''
    -- A holder changed since the caller read it: the caller reads again and calls again. What this
    -- call claimed so far stands (those holders were as read; claiming again changes nothing).
    if current ~= ARGV[s + j] then
      remember_claims()
      return 'stale'
    end
    holder = holder or live_holder(current, KEYS[k + 3 + 3 * j], batch) or compact_holder(KEYS[k + 4 + 3 * j], payment_id, batch)
  end
  if holder then
    out[i] = holder
  else
    redis.call('SET', KEYS[k + 2], batch)
    if redis.call('EXISTS', KEYS[k + 1]) == 0 then
      local record = {'batch_id', batch, 'provider', ARGV[4], 'account', ARGV[5],
        'line', ARGV[b + 1], 'payment_id', payment_id, 'payee', ARGV[b + 3], 'amount_cents', ARGV[b + 4],
        'status', 'queued', 'attempts', '0', 'round', '0', 'submitted_at', ARGV[6]}
      for name, value in pairs(cjson.decode(ARGV[b + 5])) do table.insert(record, 'f.' .. name); table.insert(record, value) end
      if ARGV[b + 6] ~= '' then table.insert(record, 'participant_id'); table.insert(record, ARGV[b + 6]) end
      if ARGV[b + 7] ~= '' then table.insert(record, 'reimbursement'); table.insert(record, ARGV[b + 7]) end
      redis.call('HSET', KEYS[k + 1], unpack(record))
    end
    out[i] = ''
    claimed[#claimed + 1] = payment_id
  end
end
remember_claims()
return out
