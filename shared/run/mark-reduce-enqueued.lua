-- Records that the reduce tasks of a generation are in the queue, so the recovery sweep
-- knows the flip to `reducing` was completed.
--
-- KEYS[1] meta
-- ARGV[1] the run's incarnation, ARGV[2] generation
-- Writes only when the run still exists in that incarnation and generation (never
-- recreates a cleaned run) and is reducing: a caller that read `reducing` on a primary that
-- then died may reach the promoted replica, where the flip was lost and the run still maps;
-- marked there, the real flip later would enqueue nothing. Sent twice, it writes the same value.
local fields = redis.call('HMGET', KEYS[1], 'inc', 'gen', 'state')
if fields[1] ~= ARGV[1] or fields[2] ~= ARGV[2] or fields[3] ~= 'reducing' then return 0 end
redis.call('HSET', KEYS[1], 'reduceEnqueued', ARGV[2])
return 1
