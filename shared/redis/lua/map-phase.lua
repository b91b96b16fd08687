-- Include: the single check that ends the map phase, and the failure budget.
--
-- The map phase ends when the run is sealed and every map task is committed or failed
-- for good; a split chunk counts as its items (the split adds items - 1 to `extra`).
-- Every script that can make this true calls finishMapPhaseIfDone: seal, commit,
-- final failure and retry, and the recovery sweep.
--@include time

local function mapPhaseCounts(metaKey, committedKey, failedKey)
  local fields = redis.call('HMGET', metaKey, 'total', 'extra')
  local expected = tonumber(fields[1] or '0') + tonumber(fields[2] or '0')
  local committed = redis.call('SCARD', committedKey)
  local failed = redis.call('SCARD', failedKey)
  return expected, committed, failed
end

-- True when the run is mapping, sealed, and every map task is settled. `fields` are the
-- run's state, sealed, total and extra, as the caller read them from its record.
local function allMapTasksSettled(fields, committedKey, failedKey)
  if fields[1] ~= 'mapping' or fields[2] ~= '1' then return false end
  local expected = tonumber(fields[3] or '0') + tonumber(fields[4] or '0')
  return redis.call('SCARD', committedKey) + redis.call('SCARD', failedKey) >= expected
end

-- Flips the run to `reducing`, recording that reduce tasks of generation `gen` are due.
local function flipToReducing(metaKey, gen)
  redis.call('HSET', metaKey, 'state', 'reducing', 'reducingAt', nowMs(), 'reduceDue', gen)
end

-- Flips a sealed run in `mapping` whose tasks are all settled to `reducing`, recording
-- that reduce tasks of the current generation are due. Returns true when it flipped.
local function finishMapPhaseIfDone(metaKey, committedKey, failedKey)
  local fields = redis.call('HMGET', metaKey, 'state', 'sealed', 'total', 'extra', 'gen')
  if not allMapTasksSettled(fields, committedKey, failedKey) then return false end
  flipToReducing(metaKey, fields[5])
  return true
end

-- True when more tasks failed than the run allows: the larger of maxFailedTasks and
-- maxFailedRatio of all tasks (known once the run is sealed).
local function failureBudgetExceeded(metaKey, committedKey, failedKey)
  local fields = redis.call('HMGET', metaKey, 'maxFailedTasks', 'maxFailedRatio', 'sealed')
  local expected, committed, failed = mapPhaseCounts(metaKey, committedKey, failedKey)
  local allowed = tonumber(fields[1] or '0')
  if fields[2] and fields[2] ~= '' then
    if fields[3] ~= '1' then return false end
    allowed = math.max(allowed, math.floor(tonumber(fields[2]) * expected))
  end
  return failed > allowed
end
