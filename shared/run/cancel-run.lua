-- Cancels a run that has not ended: workers skip its remaining tasks, running map calls
-- are aborted through ctx.signal (the caller publishes that), late commits are no-ops.
--
-- KEYS[1] meta, KEYS[2] replies hash
-- ARGV[1] request id
-- Returns {'cancelled', previous state}, {'unchanged', state} for an ended run, or {'lost'}.
-- A call sent twice answers the same.
--@include time
--@include once
local done = rememberedReply(KEYS[2], ARGV[1])
if done then return done end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' and state ~= 'reducing' then return {'unchanged', state} end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finishedAt', nowMs(), 'error', 'cancelled')
return remember(KEYS[2], ARGV[1], {'cancelled', state})
