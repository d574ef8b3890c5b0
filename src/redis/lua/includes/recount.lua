-- Moves a settled payment's count and cents from one status to another on its batch.
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
end
