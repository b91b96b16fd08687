-- Fails a run that has not ended, with a message saying why (a reduce that failed for good,
-- input rejected while streaming, lost tasks found by the sweep).
--
-- KEYS[1] meta
-- ARGV[1] error message
-- Returns {'failed'}, {'unchanged', state} for an ended run, or {'lost'}.
--@include time
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' and state ~= 'reducing' then return {'unchanged', state} end
redis.call('HSET', KEYS[1], 'state', 'failed', 'finishedAt', nowMs(), 'error', ARGV[1])
return {'failed'}
