-- Records that the reduce tasks of a generation are in the queue, so the recovery sweep
-- knows the flip to `reducing` was completed.
--
-- KEYS[1] meta
-- ARGV[1] the run's incarnation, ARGV[2] generation
-- Writes only when the run still exists in that incarnation and generation (never
-- recreates a cleaned run). Sent twice, it writes the same value.
local fields = redis.call('HMGET', KEYS[1], 'inc', 'gen')
if fields[1] ~= ARGV[1] or fields[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'reduceEnqueued', ARGV[2])
return 1
