-- Records that the reduce tasks of a generation are in the queue, so the recovery sweep
-- knows the flip to `reducing` was completed.
--
-- KEYS[1] meta
-- ARGV[1] generation
-- Writes only when the run still exists in that generation (never recreates a cleaned run).
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'reduceEnqueued', ARGV[1])
return 1
