-- Commits the inline output of one or several attempts of map tasks of one run in one call
-- (first commit wins, later ones are no-ops), so a worker finishing many small tasks at once
-- pays one script call for them; a task committed alone is a call of one. Output too large
-- to travel inline is staged and committed alone by commit-staged-map-task.lua.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] inputs hash,
-- KEYS[5] replies hash, KEYS[6..] pairs of (output hash, output index list), one pair per
-- partition that any of the tasks has output for
-- ARGV[1] the run's incarnation, ARGV[2] number of tasks, then per task: its generation,
-- the attempt's id (its request id), task id, number of input items, number of partitions
-- with output, then per such partition: the position of its pair (1 for KEYS[6..7]), batch
-- count, and that many JSON batches
--
-- Each task commits only while its run (this incarnation, its generation) is mapping and
-- the task is pending (a task twice in one call commits once). Every check comes before the
-- first write, and that write needs memory, so a full Redis refuses the whole call before
-- it writes anything; the accepted tasks are then written together, a few commands for all.
-- The end of the map phase is checked once, after the last task. A task refused here may
-- be its attempt's own commit sent again after it took effect (a resend after a
-- reconnect): its remembered reply answers, so the call answers the same when sent twice.
--
-- Returns one reply per task, in order, as commit-staged-map-task.lua's: {'committed', gen},
-- {'flipped', gen} for the committed task after which the map phase ended, {'settled',
-- state}, {'inactive', state} or {'lost'}.
--@include map-phase
--@include once
--@include map-task-pending
local meta, committed, failed, inputs, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local incarnation = ARGV[1]
local FIRST_OUTPUT_KEY = 6

local fields = redis.call('HMGET', meta, 'state', 'inc', 'gen', 'sealed', 'total', 'extra')
local results, accepted = {}, {}
local tasks, outputs, seen = {}, {}, {}
local itemsDone = 0
local arg = 3
-- Every task is checked first; the writes of all accepted tasks follow, a few commands for the lot.
for t = 1, tonumber(ARGV[2]) do
  local gen, attemptId, task, items, parts = ARGV[arg], ARGV[arg + 1], ARGV[arg + 2], ARGV[arg + 3], tonumber(ARGV[arg + 4])
  arg = arg + 5
  local refusal, state = mapRunRefusalOf(fields, incarnation, gen)
  -- A task twice in one call: the first is accepted, the second finds it settled.
  if not refusal and (seen[task] or not mapTaskPending(inputs, failed, task)) then refusal = {'settled', state} end
  if refusal then
    results[t] = rememberedReply(replies, attemptId) or refusal
    for _ = 1, parts do arg = arg + 2 + tonumber(ARGV[arg + 1]) end
  else
    seen[task] = true
    tasks[#tasks + 1] = task
    for _ = 1, parts do
      local k = FIRST_OUTPUT_KEY + 2 * (tonumber(ARGV[arg]) - 1)
      local count = tonumber(ARGV[arg + 1])
      arg = arg + 2
      local pair = outputs[k]
      if not pair then
        pair = {fields = {}, index = {}}
        outputs[k] = pair
      end
      for b = 0, count - 1 do
        pair.fields[#pair.fields + 1] = task .. '#' .. b
        pair.fields[#pair.fields + 1] = ARGV[arg]
        arg = arg + 1
      end
      pair.index[#pair.index + 1] = task .. '|' .. count .. '|'
    end
    itemsDone = itemsDone + tonumber(items)
    results[t] = {'committed', gen}
    accepted[#accepted + 1] = {t, attemptId}
  end
end
if #accepted == 0 then return results end

redis.call('SADD', committed, unpack(tasks))
redis.call('HDEL', inputs, unpack(tasks))
for k, pair in pairs(outputs) do
  redis.call('HSET', KEYS[k], unpack(pair.fields))
  redis.call('RPUSH', KEYS[k + 1], unpack(pair.index))
end
redis.call('HINCRBY', meta, 'itemsDone', itemsDone)
redis.call('HINCRBY', meta, 'mapCommits', #accepted)
redis.call('HSET', meta, 'progressAt', nowMs())
-- The commits changed none of the fields read above (state, sealed, total, extra).
if allMapTasksSettled({fields[1], fields[4], fields[5], fields[6]}, committed, failed) then
  flipToReducing(meta, fields[3])
  results[accepted[#accepted][1]] = {'flipped', fields[3]}
end
local remembered = {}
for _, done in ipairs(accepted) do
  remembered[#remembered + 1] = done[2]
  remembered[#remembered + 1] = cjson.encode(results[done[1]])
end
redis.call('HSET', replies, unpack(remembered))
return results
