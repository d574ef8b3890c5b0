-- The final payment statuses: FINAL_STATUSES of ledger/payment-status.ts (a test holds the two equal).
local final = {paid=true, declined=true, failed=true, unknown=true, reversing=true, reversed=true, reversal_unknown=true}
