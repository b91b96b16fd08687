-- Reads the worker processes seen recently, in one round trip, against the server's clock.
-- Read-only: it works while Redis is full.
--
-- KEYS[1] seen (sorted set: worker id -> last seen, ms), KEYS[2] info (hash: worker id -> JSON)
-- ARGV[1] seen within this long (ms), ARGV[2] at most this many
--
-- Returns {server time, {id, last seen, ...}, {JSON of each id, in the same order}}.
--@include time
local now = nowMs()
local seen = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', now - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
if #seen == 0 then return {now, {}, {}} end
local ids = {}
for i = 1, #seen, 2 do ids[#ids + 1] = seen[i] end
return {now, seen, redis.call('HMGET', KEYS[2], unpack(ids))}
