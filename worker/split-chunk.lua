-- Splits a chunk that failed for good into single-item tasks, so that one poison item
-- does not take the rest of its chunk down with it.
--
-- KEYS[1] meta, KEYS[2] inputs hash, KEYS[3] split set, KEYS[4] failed set
-- ARGV[1] the run's incarnation, ARGV[2] the chunk's generation, ARGV[3] chunk task id,
-- ARGV[4..] JSON array ([item]) for each item, in order
--
-- The chunk leaves the inputs and joins the split set (a late commit of it is then a
-- no-op); item i is stored as task `<chunk>.<i>`. The chunk counts as its items from now
-- on: `extra` grows by items - 1, so the map phase waits for every item. A chunk already
-- split answers 'split' again and changes nothing, so a call sent twice, or repeated after
-- its item tasks failed to reach the queue, has the caller (re)add them (a no-op for an
-- id still queued, and an item task that runs again finds itself settled).
-- Returns {'split', gen}, {'settled', state}, {'inactive', state} (state '' for another
-- incarnation) or {'lost'}.
--@include map-task-pending
local meta, inputs, split, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local incarnation, gen, chunk = ARGV[1], ARGV[2], ARGV[3]
local refusal, state = mapRunRefusal(meta, incarnation, gen)
if refusal then return refusal end
if redis.call('SISMEMBER', split, chunk) == 1 then return {'split', gen} end
if not mapTaskPending(inputs, failed, chunk) then return {'settled', state} end

for i = 4, #ARGV do
  redis.call('HSET', inputs, chunk .. '.' .. (i - 4), ARGV[i])
end
redis.call('SADD', split, chunk)
redis.call('HDEL', inputs, chunk)
redis.call('HINCRBY', meta, 'extra', #ARGV - 4)
return {'split', gen}
