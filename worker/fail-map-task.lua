-- Records that a map task failed for good, and fails the run when failures exceed its budget.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] inputs hash, KEYS[5] failure reports hash
-- ARGV[1] task id, ARGV[2] JSON failure report (items, error, stack, attempts, host, pid)
--
-- The task's inputs are kept, so `retry` can run it again under a new generation. A task
-- that is no longer pending (committed meanwhile by another attempt, split, or already
-- failed) is left alone.
--
-- Returns {'recorded'}, {'flipped', gen} when this was the last pending task and the run
-- goes on to reduce, {'run_failed'} when the budget is exceeded, {'settled', state},
-- {'inactive', state} or {'lost'}.
--@include map-phase
local meta, committed, failed, inputs, failures = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local task = ARGV[1]
local state = redis.call('HGET', meta, 'state')
if not state then return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' then return {'inactive', state} end
if redis.call('HEXISTS', inputs, task) == 0 or redis.call('SISMEMBER', failed, task) == 1 then
  return {'settled', state}
end

redis.call('SADD', failed, task)
redis.call('HSET', failures, task, ARGV[2])
redis.call('HSET', meta, 'progressAt', nowMs())
if failureBudgetExceeded(meta, committed, failed) then
  local count = redis.call('SCARD', failed)
  redis.call('HSET', meta, 'state', 'failed', 'finishedAt', nowMs(),
    'error', count .. ' map task(s) failed for good, more than the run allows (see: redmap failed RUN)')
  return {'run_failed'}
end
if finishMapPhaseIfDone(meta, committed, failed) then
  return {'flipped', redis.call('HGET', meta, 'gen')}
end
return {'recorded'}
