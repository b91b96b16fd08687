-- Commits the result of one partition: first commit wins, so a partition is reduced once
-- per generation however often its task runs. The last partition finishes the run.
--
-- KEYS[1] meta, KEYS[2] reduced-partitions set of the generation, KEYS[3] this attempt's
-- staged result list, KEYS[4] the partition's result list, KEYS[5] failed set, KEYS[6] replies hash
-- ARGV[1] the run's incarnation, ARGV[2] generation, ARGV[3] the attempt's id (its request
-- id), ARGV[4] partition, ARGV[5] number of partitions, ARGV[6] batches the attempt staged,
-- ARGV[7] the time of the flip to reducing when the attempt began to read the partition
--
-- The staged list becomes the result by RENAME (O(1)), only when it holds every batch the
-- attempt staged (0: an empty partition, no list): staged batches lost after they were
-- acknowledged make the task reduce again, never an empty or short partition. A later
-- attempt's staged list is discarded. An attempt's commit sent twice answers the same.
-- A flip at another time than the one the attempt read under means a failover lost the
-- first flip and the last map commits before it: the partition may have been read without
-- them, so the attempt's result is discarded and the partition reduced again.
-- Returns {'committed'}, {'finished', state} (done or done_with_failures), {'duplicate'},
-- {'stage_lost', batches found, batches expected}, {'reflipped'}, {'inactive', state}
-- (state '' for another incarnation) or {'lost'}.
--@include time
--@include once
local meta, reduced, staged, result, failed, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local incarnation, gen, attemptId, partition, partitions, expected, flippedAt =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local done = rememberedReply(replies, attemptId)
if done then return done end
local fields = redis.call('HMGET', meta, 'state', 'gen', 'inc', 'reducingAt')
if not fields[1] then redis.call('UNLINK', staged); return {'lost'} end
if fields[3] ~= incarnation then redis.call('UNLINK', staged); return {'inactive', ''} end
if fields[1] ~= 'reducing' or fields[2] ~= gen then redis.call('UNLINK', staged); return {'inactive', fields[1]} end
if redis.call('SISMEMBER', reduced, partition) == 1 then redis.call('UNLINK', staged); return {'duplicate'} end
if fields[4] ~= flippedAt then redis.call('UNLINK', staged); return {'reflipped'} end
local found = redis.call('LLEN', staged)
if found ~= expected then
  redis.call('UNLINK', staged)
  return {'stage_lost', found, expected}
end

redis.call('SADD', reduced, partition)
if expected > 0 then
  redis.call('RENAME', staged, result)
  redis.call('PERSIST', result)
else
  redis.call('UNLINK', result)
end
redis.call('HINCRBY', meta, 'reduceCommits', 1)
redis.call('HSET', meta, 'progressAt', nowMs())
if redis.call('SCARD', reduced) >= partitions then
  local final = 'done'
  if redis.call('SCARD', failed) > 0 then final = 'done_with_failures' end
  redis.call('HSET', meta, 'state', final, 'finishedAt', nowMs())
  return remember(replies, attemptId, {'finished', final})
end
return remember(replies, attemptId, {'committed'})
