-- Fails a run that has not ended, with a message saying why (a reduce that failed for good,
-- input rejected while streaming, a task the sweep found failed and unrecorded).
--
-- KEYS[1] meta, KEYS[2] replies hash
-- ARGV[1] the run's incarnation, ARGV[2] the generation the failure belongs to ('' for any:
-- the producer's, before a generation can change), ARGV[3] request id, ARGV[4] error message
--
-- A failure of another incarnation or of an earlier generation (an old attempt still
-- running when the run was retried) leaves the run alone. A call sent twice answers the same.
-- Returns {'failed'}, {'unchanged', state} for an ended run or another incarnation or
-- generation (state '' for another incarnation), or {'lost'}.
--@include time
--@include once
local meta, replies = KEYS[1], KEYS[2]
local done = rememberedReply(replies, ARGV[3])
if done then return done end
local fields = redis.call('HMGET', meta, 'state', 'inc', 'gen')
local state = fields[1]
if not state then return {'lost'} end
if fields[2] ~= ARGV[1] then return {'unchanged', ''} end
if ARGV[2] ~= '' and fields[3] ~= ARGV[2] then return {'unchanged', state} end
if state ~= 'submitting' and state ~= 'mapping' and state ~= 'reducing' then return {'unchanged', state} end
redis.call('HSET', meta, 'state', 'failed', 'finishedAt', nowMs(), 'error', ARGV[4])
return remember(replies, ARGV[3], {'failed'})
