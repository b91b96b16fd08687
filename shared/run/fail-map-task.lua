-- Records that a map task failed for good, and fails the run when failures exceed its budget.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] inputs hash,
-- KEYS[5] failure reports hash, KEYS[6] replies hash
-- ARGV[1] the run's incarnation, ARGV[2] the task's generation, ARGV[3] request id,
-- ARGV[4] task id, ARGV[5] JSON failure report (items, error, stack, attempts, host, pid)
--
-- The task's inputs are kept, so `retry` can run it again under a new generation. A task
-- that is no longer pending (committed meanwhile by another attempt, split, or already
-- failed) is left alone, and so is a run of another incarnation or generation: an attempt
-- of an earlier generation must not count against a retried run. A call sent twice
-- answers the same.
--
-- Returns {'recorded'}, {'flipped', gen} when this was the last pending task and the run
-- goes on to reduce, {'run_failed'} when the budget is exceeded, {'settled', state},
-- {'inactive', state} (state '' for another incarnation) or {'lost'}.
--@include map-phase
--@include once
--@include map-task-pending
local meta, committed, failed, inputs, failures, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local incarnation, gen, requestId, task = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local done = rememberedReply(replies, requestId)
if done then return done end
local refusal, state = mapRunRefusal(meta, incarnation, gen)
if refusal then return refusal end
if not mapTaskPending(inputs, failed, task) then return {'settled', state} end

redis.call('SADD', failed, task)
redis.call('HSET', failures, task, ARGV[5])
redis.call('HSET', meta, 'progressAt', nowMs())
if failureBudgetExceeded(meta, committed, failed) then
  local count = redis.call('SCARD', failed)
  redis.call('HSET', meta, 'state', 'failed', 'finishedAt', nowMs(),
    'error', count .. ' map task(s) failed for good, more than the run allows (see: redmap failed RUN)')
  return remember(replies, requestId, {'run_failed'})
end
if finishMapPhaseIfDone(meta, committed, failed) then
  return remember(replies, requestId, {'flipped', gen})
end
return remember(replies, requestId, {'recorded'})
