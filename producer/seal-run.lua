-- Seals a run: records how many map tasks and items it has, so the end of the map phase
-- can be recognised, and moves it from `submitting` to `mapping`.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] replies hash
-- ARGV[1] the run's incarnation, ARGV[2] request id, ARGV[3] number of map tasks (chunks),
-- ARGV[4] number of input items
--
-- Returns {'sealed'}, {'flipped', generation} when every task was already settled (an
-- empty run, or workers that finished before the seal), {'failed'} when failures already
-- exceed the budget, or {'inactive', state} when the run is not in `submitting` (state ''
-- when it is gone, or is another incarnation of the id). A call sent twice answers the same.
--@include map-phase
--@include once
local meta, committed, failed, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local done = rememberedReply(replies, ARGV[2])
if done then return done end
local fields = redis.call('HMGET', meta, 'state', 'inc')
if fields[2] ~= ARGV[1] then return {'inactive', ''} end
if fields[1] ~= 'submitting' then return {'inactive', fields[1]} end
redis.call('HSET', meta, 'sealed', 1, 'total', ARGV[3], 'items', ARGV[4], 'sealedAt', nowMs(), 'state', 'mapping')
if failureBudgetExceeded(meta, committed, failed) then
  redis.call('HSET', meta, 'state', 'failed', 'finishedAt', nowMs(), 'error', 'more map tasks failed than the run allows')
  return remember(replies, ARGV[2], {'failed'})
end
if finishMapPhaseIfDone(meta, committed, failed) then
  return remember(replies, ARGV[2], {'flipped', redis.call('HGET', meta, 'gen')})
end
return remember(replies, ARGV[2], {'sealed'})
