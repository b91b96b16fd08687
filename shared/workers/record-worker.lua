-- Records one worker process as seen now (server time), and forgets processes not seen for
-- a while, a few at a time, so the registry never grows with workers that died.
--
-- KEYS[1] seen (sorted set: worker id -> last seen, ms), KEYS[2] info (hash: worker id -> JSON)
-- ARGV[1] worker id, ARGV[2] its JSON description, ARGV[3] forget entries not seen for this long (ms)
--
-- Returns the server time it recorded (ms).
--@include time
local now = nowMs()
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('HDEL', KEYS[2], unpack(stale))
end
return now
