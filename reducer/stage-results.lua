-- Appends result batches to an attempt's staged list, once: a client that lost the reply
-- (Redis killed after it wrote the AOF) sends the same call again on reconnect, and a plain
-- RPUSH would then append the batches twice.
--
-- KEYS[1] the attempt's staged list
-- ARGV[1] its length before these batches, ARGV[2] TTL in ms, ARGV[3..] the batches
--
-- Returns the length after them; an error when the list is neither before nor after them.
local staged = KEYS[1]
local before = tonumber(ARGV[1])
local count = #ARGV - 2
local length = redis.call('LLEN', staged)
if length == before + count then return length end
if length ~= before then
  return redis.error_reply('STAGE_MISMATCH staged list holds ' .. length .. ' batches, expected ' .. before)
end
redis.call('RPUSH', staged, unpack(ARGV, 3))
redis.call('PEXPIRE', staged, ARGV[2])
return length + count
