import { FINAL_STATUSES } from './payment-status.js';

/**
 * The Lua scripts behind every payment transition (ledger/payments.ts). Each runs atomically in
 * Redis, so two runs of one job, in any processes, never both win a transition.
 *
 * Two fields fence the sending of a payment:
 * - `epoch` counts the sending marks. A run that looked at a payment (its standing, a lookup) and
 *   then sends passes the epoch it saw; the mark is refused ('stale') when another run marked the
 *   payment meanwhile. A run's answer is recorded only against its own mark (requeue, finalize).
 * - `sending_ms` is Redis's own clock (TIME) at the mark: whether an earlier call may still be under
 *   way is judged against it, never against a worker's clock.
 */

const FINAL_SET = `local final = {${FINAL_STATUSES.map((s) => `${s}=true`).join(', ')}}`;

/** Redis's own clock in ms: the only time that decides safety. */
export const NOW_MS = `
  local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end`;

// Moves a settled payment's count and cents from one status to another on its batch.
export const RECOUNT = `
  local function recount(batch, from, to, cents)
    if from then
      redis.call('HINCRBY', batch, 'n_' .. from, -1)
      redis.call('HINCRBY', batch, 'c_' .. from, -cents)
    end
    if to then
      redis.call('HINCRBY', batch, 'n_' .. to, 1)
      redis.call('HINCRBY', batch, 'c_' .. to, cents)
    end
    if from and not to then redis.call('HINCRBY', batch, 'final', -1) end
    if to and not from then redis.call('HINCRBY', batch, 'final', 1) end
  end`;

// A call is about to leave: recorded with Redis's time, the key it carries (a key kept earlier
// stays) and a new epoch, which it returns. sending_at is the same moment for people to read.
const MARK_SENDING = `
  ${NOW_MS}
  local function mark_sending(payment, at, idempotency_key)
    redis.call('HSET', payment, 'status', 'sending', 'sending_at', at, 'sending_ms', now_ms())
    redis.call('HSETNX', payment, 'idem_key', idempotency_key)
    redis.call('HINCRBY', payment, 'attempts', 1)
    return redis.call('HINCRBY', payment, 'epoch', 1)
  end`;

// Maker-checker where money moves: no payment of a batch is marked sending until the batch has a
// recorded approval (`approved_by`), if either the submitter's rule (`needs_approval`, written at
// submission) or the sending worker's own rule for the batch's total (ARGV[f] '1') requires one. In
// the marking script itself, so no approval, cancellation or hold can fall between the check and
// the mark. A worker whose rule is the stricter holds the batch here, once: needs_approval and
// held_* are written, an enqueued batch moves to awaiting_approval (an enqueuing one ends there,
// BatchLedger.finishEnqueue) and the `held` audit entry is appended. KEYS[2]: batch, KEYS[3]: audit
// stream. ARGV from f: '1' (the worker's rule requires approval) or '', then its reason, the
// worker's identity, now, and the audit entry's fields. Returns true when the mark must not be made.
const APPROVAL_FENCE = `
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
  end`;

export const PAYMENT_SCRIPTS = {
  // What a run looks at before it decides: status, doubt, kept key, epoch, and how much longer the
  // call marked at sending_ms may still be under way (ARGV[1]: how long a call can be, in ms): while
  // sending, and after a lost answer (in doubt), since the provider may still be working on it.
  readStanding: {
    numberOfKeys: 1,
    lua: `
      ${NOW_MS}
      local status, sending_ms, doubt, key, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'sending_ms', 'may_have_applied', 'idem_key', 'epoch'))
      if not status then return {} end
      local in_flight = 0
      if status == 'sending' or doubt == '1' then in_flight = math.max(0, (tonumber(sending_ms) or 0) + tonumber(ARGV[1]) - now_ms()) end
      return {status, doubt or '', key or '', epoch or '0', in_flight}`,
  },
  // The careful way: KEYS: payment, batch, audit. ARGV: now, doubtResolvable, idempotency key, the
  // epoch the run saw, then the approval fence's (from 5). Returns {permission, epoch}: ready |
  // ready-in-doubt (marked, new epoch) | in-doubt | final | missing | stale (another run marked it
  // since this one looked) | needs-approval (the batch is not approved: nothing sent; a payment
  // found sending is queued again, in doubt, as a lost answer leaves it: its call cannot still be
  // under way, the run waited for that, and it settles once the batch is approved or canceled).
  beginSending: {
    numberOfKeys: 3,
    lua: `
      ${FINAL_SET}
      ${MARK_SENDING}
      ${APPROVAL_FENCE}
      local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
      if not status then return {'missing', 0} end
      if final[status] then return {'final', 0} end
      if (epoch or '0') ~= ARGV[4] then return {'stale', 0} end
      if status == 'sending' then
        redis.call('HSET', KEYS[1], 'may_have_applied', '1')
        if ARGV[2] ~= '1' then return {'in-doubt', 0} end
      end
      if approval_missing(5) then
        if status == 'sending' then redis.call('HSET', KEYS[1], 'status', 'queued') end
        return {'needs-approval', 0}
      end
      local marked = mark_sending(KEYS[1], ARGV[1], ARGV[3])
      if redis.call('HGET', KEYS[1], 'may_have_applied') == '1' then return {'ready-in-doubt', marked} end
      return {'ready', marked}`,
  },
  // The common case in one step: a payment queued with nothing in doubt (its first call, or a retry
  // after an answer that applied nothing) is marked sending, whoever looked at it before: nothing
  // can have been applied. Anything else changes nothing: {'not-fresh', 0}; a batch not approved
  // that needs it: {'needs-approval', 0}. KEYS: payment, batch, audit. ARGV: now, key, then the
  // approval fence's (from 3).
  beginFreshSending: {
    numberOfKeys: 3,
    lua: `
      ${MARK_SENDING}
      ${APPROVAL_FENCE}
      local status, doubt = unpack(redis.call('HMGET', KEYS[1], 'status', 'may_have_applied'))
      if status ~= 'queued' or doubt == '1' then return {'not-fresh', 0} end
      if approval_missing(3) then return {'needs-approval', 0} end
      return {'ready', mark_sending(KEYS[1], ARGV[1], ARGV[2])}`,
  },
  // The mark of epoch ARGV[1] could not be made durable before its request left (ledger/durability.ts),
  // so the request is not sent: the payment is as it was before the mark. Should this write be lost
  // in turn, the payment stays sending: in doubt, which is safe.
  unmarkSending: {
    numberOfKeys: 1,
    lua: `
      local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
      if status ~= 'sending' or epoch ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'status', 'queued')
      redis.call('HINCRBY', KEYS[1], 'attempts', -1)
      return 1`,
  },
  // The request of epoch ARGV[2] is repeated within its attempt (after a refusal that applied
  // nothing): the call may be under way from now on. Fenced like a mark: refused (0) once another
  // run marked the payment, or it was settled, meanwhile (the run may have stalled before its repeat).
  touchSending: {
    numberOfKeys: 1,
    lua: `
      ${NOW_MS}
      local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
      if status ~= 'sending' or epoch ~= ARGV[2] then return 0 end
      redis.call('HSET', KEYS[1], 'sending_at', ARGV[1], 'sending_ms', now_ms())
      return 1`,
  },
  // Keeps the first key offered for a payment and returns the kept one.
  keepKey: {
    numberOfKeys: 1,
    lua: `
      redis.call('HSETNX', KEYS[1], 'idem_key', ARGV[1])
      return redis.call('HGET', KEYS[1], 'idem_key')`,
  },
  // The answer to the call of epoch ARGV[1] says: try again later. Only that call's run may turn
  // it back to queued; a run that made no call (its login or lookup failed) changes nothing, so a
  // call cut off earlier stays in doubt. ARGV: epoch, code, message, mayHaveApplied ('1': the
  // answer was lost, and a resend is safe), refused ('1': nothing was applied; the call is not
  // counted in attempts).
  requeuePayment: {
    numberOfKeys: 1,
    lua: `
      local status, epoch = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch'))
      if status ~= 'sending' or epoch ~= ARGV[1] then return 0 end
      redis.call('HSET', KEYS[1], 'status', 'queued', 'code', ARGV[2], 'message', ARGV[3])
      if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
      if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
      return 1`,
  },
  // Sets the final status once and counts it on the batch. Returns 1 recorded, 0 not, 2 a conflict.
  //   - A definite answer (paid, declined) may replace an in-doubt unknown: a call thought lost can
  //     still report back.
  //   - The answer of a call (epoch ARGV[8]; '' for a run that made none) while another run's call
  //     is under way speaks only for its own: not recorded, but an unknown one leaves the doubt.
  //     A paid one is recorded: the money moved.
  //   - failed means nothing was applied: it becomes unknown when any call may have applied (doubt
  //     recorded, or another run's call cut off). So does 'abandoned' (the job ended without an
  //     outcome) then, else it becomes failed.
  //   - A paid answer for a payment already final otherwise (not paid by a person, failed, or paid
  //     under another reference) is a conflict: kept on the payment and counted on the batch, the
  //     status left for a person to look at.
  //   - Once final (not unknown: a person settles that first), the identity is remembered for
  //     ARGV[6] ms (empty: forever).
  // ARGV[9] '1': the answer refused the call (nothing applied): it is not counted in attempts.
  // KEYS: payment, batch, holder. ARGV: status, reference, code, message, now, memoryMs, batchId,
  // epoch, refused.
  finalizePayment: {
    numberOfKeys: 3,
    lua: `
      ${FINAL_SET}
      ${RECOUNT}
      local current, epoch, doubt, reference, resolved = unpack(redis.call('HMGET', KEYS[1], 'status', 'epoch', 'may_have_applied', 'reference', 'resolved_by'))
      if not current then return 0 end
      local new = ARGV[1]
      local mine = ARGV[8] ~= '' and (epoch or '0') == ARGV[8]
      if current == 'sending' and ARGV[8] ~= '' and not mine and new ~= 'paid' then
        if new == 'unknown' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
        return 0
      end
      local in_doubt = doubt == '1' or (current == 'sending' and not mine)
      if new == 'abandoned' then new = in_doubt and 'unknown' or 'failed' end
      local message = ARGV[4]
      if new == 'failed' and in_doubt then
        new = 'unknown'
        message = message .. '; an earlier call for this payment may have applied'
      end
      local upgrade = current == 'unknown' and (new == 'paid' or new == 'declined')
      if final[current] and not upgrade then
        if new ~= 'paid' or reference == ARGV[2] then return 0 end
        local conflict = current == 'paid' and 'SECOND_PAID' or ('LATE_PAID_AFTER_' .. string.upper(current))
        if current == 'failed' and resolved then conflict = 'LATE_PAID_AFTER_NOT_PAID' end
        redis.call('HSET', KEYS[1], 'conflict_code', conflict, 'conflict_reference', ARGV[2], 'conflict_message', ARGV[4], 'conflict_at', ARGV[5])
        redis.call('HINCRBY', KEYS[2], 'n_conflict', 1)
        return 2
      end
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      redis.call('HSET', KEYS[1], 'status', new, 'reference', ARGV[2], 'code', ARGV[3], 'message', message, 'settled_at', ARGV[5])
      if new == 'unknown' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
      if ARGV[9] == '1' and current == 'sending' and mine then redis.call('HINCRBY', KEYS[1], 'attempts', -1) end
      recount(KEYS[2], upgrade and current or nil, new, cents)
      if new ~= 'unknown' and ARGV[6] ~= '' and redis.call('GET', KEYS[3]) == ARGV[7] then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
      return 1`,
  },
  // A person settles an unknown payment: paid (with the provider's reference) or not paid, which
  // makes it a failed payment that \`retry\` may send again. From then on its identity is remembered
  // for ARGV[5] ms (empty: forever). KEYS: payment, batch, holder, audit. ARGV: paid|not-paid,
  // reference, by, now, memoryMs, batchId, then the `resolved` audit entry's fields. Returns 'ok' or
  // the payment's status.
  resolvePayment: {
    numberOfKeys: 4,
    lua: `
      ${RECOUNT}
      local current = redis.call('HGET', KEYS[1], 'status')
      if current ~= 'unknown' then return current or 'missing' end
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      local new = ARGV[1] == 'paid' and 'paid' or 'failed'
      local message = ARGV[1] == 'paid' and ('settled by hand as paid by ' .. ARGV[3]) or ('settled by hand as not paid by ' .. ARGV[3])
      redis.call('HSET', KEYS[1], 'status', new, 'code', ARGV[1] == 'paid' and 'RESOLVED_PAID' or 'RESOLVED_NOT_PAID',
        'message', message, 'resolved_by', ARGV[3], 'resolved_at', ARGV[4], 'settled_at', ARGV[4])
      if ARGV[1] == 'paid' then redis.call('HSET', KEYS[1], 'reference', ARGV[2]) end
      -- The person checked with the provider: nothing is in doubt any more.
      redis.call('HDEL', KEYS[1], 'may_have_applied')
      recount(KEYS[2], 'unknown', new, cents)
      if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) == ARGV[6] then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
      redis.call('XADD', KEYS[4], '*', unpack(ARGV, 7))
      return 'ok'`,
  },
  // A failed payment (nothing applied) goes round again: queued, under a new round number, if its
  // batch still holds the identity. The batch is open again in the same step, so the sweeper looks
  // after the payment should its job be lost. KEYS: payment, batch, holder, open batches, audit.
  // ARGV: batchId, then the `retried` audit entry's fields. Returns the new round, or the status /
  // 'held:<batch>' / 'conflict:<code>' that prevents it.
  retryPayment: {
    numberOfKeys: 5,
    lua: `
      ${RECOUNT}
      local current, conflict = unpack(redis.call('HMGET', KEYS[1], 'status', 'conflict_code'))
      if current ~= 'failed' then return current or 'missing' end
      -- The provider said paid after all: sending it again would pay twice until a person looks.
      if conflict then return 'conflict:' .. conflict end
      local holder = redis.call('GET', KEYS[3])
      if holder and holder ~= ARGV[1] then return 'held:' .. holder end
      redis.call('SET', KEYS[3], ARGV[1])
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      redis.call('HSET', KEYS[1], 'status', 'queued')
      redis.call('HDEL', KEYS[1], 'settled_at')
      recount(KEYS[2], 'failed', nil, cents)
      redis.call('SADD', KEYS[4], ARGV[1])
      redis.call('XADD', KEYS[5], '*', unpack(ARGV, 2))
      return tostring(redis.call('HINCRBY', KEYS[1], 'round', 1))`,
  },
} satisfies Record<string, { numberOfKeys: number; lua: string }>;
