-- Include: whether a map task's outcome may still change its run: a commit, a final
-- failure and a split act only while the task's run (this incarnation, this generation)
-- is mapping and the task is pending (its inputs are stored, it is not failed for good).

-- The reply that refuses the call when the run does not take map task outcomes: {'lost'},
-- or {'inactive', state} with state '' for another incarnation. Otherwise nil and the
-- run's state. `fields` are the run's state, incarnation and generation, as read.
local function mapRunRefusalOf(fields, incarnation, gen)
  local state = fields[1]
  if not state then return {'lost'} end
  if fields[2] ~= incarnation then return {'inactive', ''} end
  if fields[3] ~= gen or (state ~= 'submitting' and state ~= 'mapping') then return {'inactive', state} end
  return nil, state
end

-- The same, reading the run's record.
local function mapRunRefusal(metaKey, incarnation, gen)
  return mapRunRefusalOf(redis.call('HMGET', metaKey, 'state', 'inc', 'gen'), incarnation, gen)
end

-- True while the task is pending: its inputs are stored and it has not failed for good.
local function mapTaskPending(inputsKey, failedKey, task)
  return redis.call('HEXISTS', inputsKey, task) == 1 and redis.call('SISMEMBER', failedKey, task) == 0
end
