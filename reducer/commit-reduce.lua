-- Commits the result of one partition: first commit wins, so a partition is reduced once
-- per generation however often its task runs. The last partition finishes the run.
--
-- KEYS[1] meta, KEYS[2] reduced-partitions set of the generation, KEYS[3] this attempt's
-- staged result list, KEYS[4] the partition's result list, KEYS[5] failed set
-- ARGV[1] partition, ARGV[2] generation, ARGV[3] number of partitions
--
-- The staged list becomes the result by RENAME (O(1)); a later attempt's staged list is
-- discarded. Returns {'committed'}, {'finished', state} (done or done_with_failures),
-- {'duplicate'}, {'inactive', state} or {'lost'}.
--@include time
local meta, reduced, staged, result, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local partition, gen, partitions = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fields = redis.call('HMGET', meta, 'state', 'gen')
if not fields[1] then redis.call('UNLINK', staged); return {'lost'} end
if fields[1] ~= 'reducing' or fields[2] ~= gen then redis.call('UNLINK', staged); return {'inactive', fields[1]} end
if redis.call('SISMEMBER', reduced, partition) == 1 then redis.call('UNLINK', staged); return {'duplicate'} end

redis.call('SADD', reduced, partition)
if redis.call('EXISTS', staged) == 1 then
  redis.call('RENAME', staged, result)
else
  redis.call('UNLINK', result)
end
redis.call('HSET', meta, 'progressAt', nowMs())
if redis.call('SCARD', reduced) >= partitions then
  local final = 'done'
  if redis.call('SCARD', failed) > 0 then final = 'done_with_failures' end
  redis.call('HSET', meta, 'state', final, 'finishedAt', nowMs())
  return {'finished', final}
end
return {'committed'}
