-- Moves a failed or done_with_failures run back to `mapping` under a new generation, as a
-- live run in every way: nothing of it keeps the retention clock its ending started.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] replies hash,
-- KEYS[5] adopted-stages set, KEYS[6..] every other key of the run that an ending gives a
-- TTL to and that outlives the retry (inputs, split set, failure reports, map output and
-- its index per partition); the staged hashes named in the stages set are found here
-- ARGV[1] request id
--
-- Tasks that failed for good become pending again (their inputs were kept); committed
-- output stays adopted. Task ids, reduce markers and results are keyed by generation, so
-- the run reduces again without mixing old and new. A run whose map phase is already
-- complete (its reduce failed) flips straight to `reducing`. A call sent twice answers the same.
-- Returns {'retried', gen}, {'flipped', gen}, {'unsealed'} for a run that failed before
-- its producer sealed it, {'unchanged', state} or {'lost'}.
--@include map-phase
--@include once
local meta, committed, failed, replies, stages = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local done = rememberedReply(replies, ARGV[1])
if done then return done end
local fields = redis.call('HMGET', meta, 'state', 'sealed')
if not fields[1] then return {'lost'} end
if fields[1] ~= 'failed' and fields[1] ~= 'done_with_failures' then return {'unchanged', fields[1]} end
if fields[2] ~= '1' then return {'unsealed'} end

for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end
for _, staged in ipairs(redis.call('SMEMBERS', stages)) do redis.call('PERSIST', staged) end
local gen = redis.call('HINCRBY', meta, 'gen', 1)
redis.call('HSET', meta, 'state', 'mapping', 'retriedAt', nowMs())
redis.call('HDEL', meta, 'finishedAt', 'error', 'reduceDue', 'reduceEnqueued')
redis.call('DEL', failed)
if finishMapPhaseIfDone(meta, committed, failed) then return remember(replies, ARGV[1], {'flipped', gen}) end
return remember(replies, ARGV[1], {'retried', gen})
