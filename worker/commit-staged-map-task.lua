-- Commits one attempt of a map task whose output was staged (too large to travel inline;
-- inline output is committed by commit-map-tasks.lua): first commit wins, later ones are no-ops.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] inputs hash,
-- KEYS[5] adopted-stages set, KEYS[6] this attempt's staged output hash, KEYS[7] replies hash,
-- KEYS[8..] pairs of (output hash, output index list), one pair per partition with output
-- ARGV[1] the run's incarnation, ARGV[2] the task's generation, ARGV[3] the attempt's id
-- (its request id: one commit per attempt), ARGV[4] task id, ARGV[5] number of input items,
-- ARGV[6..] per partition with output: its number of staged batches
--
-- All checks come before the first write (Redis does not roll back a script). The task
-- commits only while its run (this incarnation, this generation) is mapping and the task
-- is pending (its inputs are stored, it is not failed for good), and only when every
-- staged batch is there: a write acknowledged and then lost (a restart
-- with appendfsync everysec, a failover) must make the task run again, never adopt a hole.
-- Then it joins the committed set, its inputs are dropped and its output is adopted
-- (the staged hash referenced by the index). Otherwise the staged output is discarded. The first write needs memory, so a full Redis refuses the whole script
-- before it writes anything. An attempt's commit sent twice answers the same.
--
-- Returns {'committed', gen}, {'flipped', gen} when this commit ended the map phase,
-- {'settled', state} for a duplicate, {'stage_lost', batches found, batches expected},
-- {'inactive', state} (state '' for another incarnation) or {'lost'}.
--@include map-phase
--@include once
--@include map-task-pending
local meta, committed, failed, inputs, stages, staged, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local incarnation, gen, attemptId, task, items = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local FIRST_OUTPUT_KEY, FIRST_COUNT_ARG = 8, 6

local function discard()
  redis.call('UNLINK', staged)
end
-- A commit that would be refused may be this attempt's own, sent again after it took
-- effect: its remembered reply then answers (and its adopted stage is kept). Only then is
-- the reply looked up: a commit that takes effect cannot have taken effect before, as the
-- task would no longer be pending.
local function refuse(reply)
  local done = rememberedReply(replies, attemptId)
  if done then return done end
  discard()
  return reply
end
local fields = redis.call('HMGET', meta, 'state', 'inc', 'gen', 'sealed', 'total', 'extra')
local refusal, state = mapRunRefusalOf(fields, incarnation, gen)
if refusal then return refuse(refusal) end
if not mapTaskPending(inputs, failed, task) then return refuse({'settled', state}) end
local expected, arg = 0, FIRST_COUNT_ARG
for k = FIRST_OUTPUT_KEY, #KEYS, 2 do
  expected = expected + tonumber(ARGV[arg])
  arg = arg + 1
end
local found = redis.call('HLEN', staged)
if found ~= expected then
  discard()
  return {'stage_lost', found, expected}
end

redis.call('SADD', committed, task)
redis.call('HDEL', inputs, task)
arg = FIRST_COUNT_ARG
for k = FIRST_OUTPUT_KEY, #KEYS, 2 do
  redis.call('RPUSH', KEYS[k + 1], task .. '|' .. ARGV[arg] .. '|' .. staged)
  arg = arg + 1
end
redis.call('SADD', stages, staged)
redis.call('PERSIST', staged)
redis.call('HINCRBY', meta, 'itemsDone', items)
redis.call('HINCRBY', meta, 'mapCommits', 1)
redis.call('HSET', meta, 'progressAt', nowMs())

-- The commit changed none of the fields read above (state, sealed, total, extra).
if allMapTasksSettled({fields[1], fields[4], fields[5], fields[6]}, committed, failed) then
  flipToReducing(meta, gen)
  return remember(replies, attemptId, {'flipped', gen})
end
return remember(replies, attemptId, {'committed', gen})
