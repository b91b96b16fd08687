-- What a worker needs before it runs a map task, in one round trip: the run's state and
-- the task's items.
--
-- KEYS[1] meta, KEYS[2] inputs hash, KEYS[3] failed set
-- ARGV[1] task id
--
-- Returns {state, generation, reduceEnqueued, runLimited, items, incarnation}: state false
-- when the run is gone; runLimited 1 when the run has a cap or a rate of its own; items
-- (the task's JSON) false once the task is committed, split or failed. The caller compares
-- the incarnation with its task's: another one means the task's run was cleaned.
local meta = redis.call('HMGET', KEYS[1], 'state', 'gen', 'reduceEnqueued', 'concurrency', 'rateCount', 'inc')
local items = false
if meta[1] and redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then items = redis.call('HGET', KEYS[2], ARGV[1]) end
local limited = 0
if meta[4] or meta[5] then limited = 1 end
return {meta[1], meta[2], meta[3], limited, items, meta[6]}
