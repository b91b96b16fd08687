-- Extends the leases a worker holds in one scope, while their map calls run.
--
-- KEYS[1] leases sorted set; ARGV[1] lease duration (ms), ARGV[2..] lease ids
-- A lease that already expired and was dropped is not brought back (XX).
--@include time
local expiry = nowMs() + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 60000)
return #ARGV - 1
