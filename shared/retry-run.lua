-- Moves a failed or done_with_failures run back to `mapping` under a new generation.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set
--
-- Tasks that failed for good become pending again (their inputs were kept); committed
-- output stays adopted. Task ids, reduce markers and results are keyed by generation, so
-- the run reduces again without mixing old and new. A run whose map phase is already
-- complete (its reduce failed) flips straight to `reducing`.
-- Returns {'retried', gen}, {'flipped', gen}, {'unsealed'} for a run that failed before
-- its producer sealed it, {'unchanged', state} or {'lost'}.
--@include map-phase
local meta, committed, failed = KEYS[1], KEYS[2], KEYS[3]
local fields = redis.call('HMGET', meta, 'state', 'sealed')
if not fields[1] then return {'lost'} end
if fields[1] ~= 'failed' and fields[1] ~= 'done_with_failures' then return {'unchanged', fields[1]} end
if fields[2] ~= '1' then return {'unsealed'} end

local gen = redis.call('HINCRBY', meta, 'gen', 1)
redis.call('HSET', meta, 'state', 'mapping', 'retriedAt', nowMs())
redis.call('HDEL', meta, 'finishedAt', 'error', 'reduceDue', 'reduceEnqueued')
redis.call('DEL', failed)
if finishMapPhaseIfDone(meta, committed, failed) then return {'flipped', gen} end
return {'retried', gen}
