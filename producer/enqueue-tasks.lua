-- Stores the inputs of a batch of map tasks and says which still need a queued task.
--
-- KEYS[1] meta, KEYS[2] inputs hash, KEYS[3] committed set, KEYS[4] failed set, KEYS[5] split set
-- ARGV pairs: task id, JSON array of the task's input items
--
-- A task already committed, failed for good or split is skipped, so a producer that
-- re-streams a run after a crash adds nothing twice. Inputs already stored are kept.
-- Returns {'ok', id...} with the ids to add to the queue (adding an id that is still
-- queued is a no-op in BullMQ), or {'inactive', state} when the run no longer accepts
-- inputs (cancelled, or gone).
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'submitting' then return {'inactive', state or ''} end
local pending = {'ok'}
for i = 1, #ARGV, 2 do
  local task = ARGV[i]
  if redis.call('SISMEMBER', KEYS[3], task) == 0 and redis.call('SISMEMBER', KEYS[4], task) == 0
      and redis.call('SISMEMBER', KEYS[5], task) == 0 then
    redis.call('HSETNX', KEYS[2], task, ARGV[i + 1])
    pending[#pending + 1] = task
  end
end
return pending
