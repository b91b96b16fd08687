-- Seals a run: records how many map tasks and items it has, so the end of the map phase
-- can be recognised, and moves it from `submitting` to `mapping`.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set
-- ARGV[1] number of map tasks (chunks), ARGV[2] number of input items
--
-- Returns {'sealed'}, {'flipped', generation} when every task was already settled (an
-- empty run, or workers that finished before the seal), {'failed'} when failures already
-- exceed the budget, or {'inactive', state} when the run is not in `submitting`.
--@include map-phase
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'submitting' then return {'inactive', state or ''} end
redis.call('HSET', KEYS[1], 'sealed', 1, 'total', ARGV[1], 'items', ARGV[2], 'sealedAt', nowMs(), 'state', 'mapping')
if failureBudgetExceeded(KEYS[1], KEYS[2], KEYS[3]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'finishedAt', nowMs(), 'error', 'more map tasks failed than the run allows')
  return {'failed'}
end
if finishMapPhaseIfDone(KEYS[1], KEYS[2], KEYS[3]) then
  return {'flipped', redis.call('HGET', KEYS[1], 'gen')}
end
return {'sealed'}
