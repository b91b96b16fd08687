-- Stores the inputs of a batch of map tasks and says which still need a queued task.
--
-- KEYS[1] meta, KEYS[2] inputs hash, KEYS[3] committed set, KEYS[4] failed set, KEYS[5] split set
-- ARGV[1] the run's incarnation, then pairs: task id, JSON array of the task's input items
-- (none: the producer only says it is still there, while it holds back for workers)
--
-- A task already committed, failed for good or split is skipped, so a producer that
-- re-streams a run after a crash adds nothing twice. Chunk tasks enter the inputs only
-- here, and `enqueuedUpTo` keeps the highest chunk index ever stored: a chunk above it was
-- never stored, so it cannot be settled and the three sets are not asked for it (a first
-- submit asks nothing per task; a resend or a resumed submit asks for each). Inputs
-- already stored are kept, so a batch sent twice changes nothing more. Every call records
-- when the producer was last seen, which tells an abandoned submit from a slow one.
-- Returns {'ok', id, stored, id, stored...} with the ids to add to the queue (adding an id
-- that is still queued is a no-op in BullMQ), each with 1 when the inputs stored for it are
-- the ones sent (a task may then carry a copy of them), 0 when an earlier submit stored
-- others; or {'inactive', state} when the run no longer accepts inputs (cancelled, failed,
-- or gone: state '', also for another incarnation of the id).
--@include time
local fields = redis.call('HMGET', KEYS[1], 'state', 'inc', 'enqueuedUpTo')
if fields[2] ~= ARGV[1] then return {'inactive', ''} end
if fields[1] ~= 'submitting' then return {'inactive', fields[1]} end
local upTo = tonumber(fields[3] or '-1')
local highest = upTo
local pending = {'ok'}
for i = 2, #ARGV, 2 do
  local task = ARGV[i]
  local index = tonumber(string.sub(task, 2))
  if index > upTo or (redis.call('SISMEMBER', KEYS[3], task) == 0 and redis.call('SISMEMBER', KEYS[4], task) == 0
      and redis.call('SISMEMBER', KEYS[5], task) == 0) then
    local stored = 1
    if redis.call('HSETNX', KEYS[2], task, ARGV[i + 1]) == 0 and redis.call('HGET', KEYS[2], task) ~= ARGV[i + 1] then
      stored = 0
    end
    if index > highest then highest = index end
    pending[#pending + 1] = task
    pending[#pending + 1] = stored
  end
end
redis.call('HSET', KEYS[1], 'producerAt', nowMs(), 'enqueuedUpTo', highest)
return pending
