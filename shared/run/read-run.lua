-- Reads a run's record and its task counts in one round trip, at one instant. It only
-- reads, so it also works while Redis is full (commands queued in MULTI would be refused).
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set
-- ARGV[1] the prefix of the generation keys; the reduced set is ARGV[1] .. gen .. ':reduced'
--
-- Returns {} when the run does not exist, else {meta fields and values, committed count,
-- failed count, reduced partitions in the current generation}.
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return {} end
local gen = redis.call('HGET', KEYS[1], 'gen')
return {meta, redis.call('SCARD', KEYS[2]), redis.call('SCARD', KEYS[3]), redis.call('SCARD', ARGV[1] .. gen .. ':reduced')}
