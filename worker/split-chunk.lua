-- Splits a chunk that failed for good into single-item tasks, so that one poison item
-- does not take the rest of its chunk down with it.
--
-- KEYS[1] meta, KEYS[2] inputs hash, KEYS[3] split set, KEYS[4] failed set
-- ARGV[1] chunk task id, ARGV[2..] JSON array ([item]) for each item, in order
--
-- The chunk leaves the inputs and joins the split set (a late commit of it is then a
-- no-op); item i is stored as task `<chunk>.<i>`. The chunk counts as its items from now
-- on: `extra` grows by items - 1, so the map phase waits for every item.
-- Returns {'split', gen}, {'settled', state}, {'inactive', state} or {'lost'}.
local meta, inputs, split, failed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local chunk = ARGV[1]
local state = redis.call('HGET', meta, 'state')
if not state then return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' then return {'inactive', state} end
if redis.call('HEXISTS', inputs, chunk) == 0 or redis.call('SISMEMBER', failed, chunk) == 1 then
  return {'settled', state}
end

for i = 2, #ARGV do
  redis.call('HSET', inputs, chunk .. '.' .. (i - 2), ARGV[i])
end
redis.call('SADD', split, chunk)
redis.call('HDEL', inputs, chunk)
redis.call('HINCRBY', meta, 'extra', #ARGV - 2)
return {'split', redis.call('HGET', meta, 'gen')}
