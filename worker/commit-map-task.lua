-- Commits one attempt of a map task: first commit wins, later ones are no-ops.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] inputs hash,
-- KEYS[5] adopted-stages set, KEYS[6] this attempt's staged output hash,
-- KEYS[7..] pairs of (output hash, output index list), one pair per partition with output
-- ARGV[1] task id, ARGV[2] number of input items, ARGV[3] 'inline' or 'staged',
-- ARGV[4..] per partition with output: batch count, then (inline only) that many JSON batches
--
-- All checks come before the first write (Redis does not roll back a script). The task
-- commits only while the run is mapping and the task is pending (its inputs are stored,
-- it is not failed for good): then it joins the committed set, its inputs are dropped and
-- its output is adopted (written inline, or the staged hash referenced by the index).
-- Otherwise staged output is discarded. The first write (SADD) needs memory, so a full
-- Redis refuses the whole script before it writes anything.
--
-- Returns {'committed', gen}, {'flipped', gen} when this commit ended the map phase,
-- {'settled', state} for a duplicate, {'inactive', state} or {'lost'}.
--@include map-phase
local meta, committed, failed, inputs, stages, staged = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local task, items, mode = ARGV[1], ARGV[2], ARGV[3]

local state = redis.call('HGET', meta, 'state')
local function discard()
  if mode == 'staged' then redis.call('UNLINK', staged) end
end
if not state then discard(); return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' then discard(); return {'inactive', state} end
if redis.call('HEXISTS', inputs, task) == 0 or redis.call('SISMEMBER', failed, task) == 1 then
  discard()
  return {'settled', state}
end

redis.call('SADD', committed, task)
redis.call('HDEL', inputs, task)
local arg = 4
for k = 7, #KEYS, 2 do
  local count = tonumber(ARGV[arg])
  arg = arg + 1
  if mode == 'inline' then
    for b = 0, count - 1 do
      redis.call('HSET', KEYS[k], task .. '#' .. b, ARGV[arg])
      arg = arg + 1
    end
    redis.call('RPUSH', KEYS[k + 1], task .. '|' .. count .. '|')
  else
    redis.call('RPUSH', KEYS[k + 1], task .. '|' .. count .. '|' .. staged)
  end
end
if mode == 'staged' then
  redis.call('SADD', stages, staged)
  redis.call('PERSIST', staged)
end
redis.call('HINCRBY', meta, 'itemsDone', items)
redis.call('HSET', meta, 'progressAt', nowMs())

local gen = redis.call('HGET', meta, 'gen')
if finishMapPhaseIfDone(meta, committed, failed) then return {'flipped', gen} end
return {'committed', gen}
