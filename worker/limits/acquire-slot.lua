-- Admits one map call under one scope's limits (a job's, or a run's): a concurrency cap
-- counted with leases, and a rate paced evenly (GCRA without burst: starts at least
-- period/count apart, so no window holds more than its share plus one).
--
-- KEYS[1] limits hash: concurrency, rateCount, ratePeriodMs, set by `redmap throttle` (for a
--         run, in its record), over declared* fields, the limits the job file declares
-- KEYS[2] leases sorted set (lease id -> expiry ms), KEYS[3] next allowed start (ms),
-- KEYS[4] starts per second (hash)
-- ARGV[1] lease id, ARGV[2] lease duration (ms)
--
-- Checks come first and write nothing when the call must wait. Limits are read on every
-- call, so `redmap throttle` takes effect at the next call. A lease a dead worker held
-- expires after its duration and no longer counts.
-- Returns {1, leased, second, next} when admitted: whether a lease was taken (only under a
-- cap), the second the start was counted in and the next allowed start it set ('' without
-- a rate), which give-back-slot.lua needs to undo this admission exactly when the call's
-- other step refuses it. Else {0, ms, why}: ask again after about ms, why being 'full' (the
-- cap) or 'rate'.
--@include time
local now = nowMs()
local limits = redis.call('HMGET', KEYS[1], 'concurrency', 'rateCount', 'ratePeriodMs',
  'declaredConcurrency', 'declaredRateCount', 'declaredRatePeriodMs')
local cap = tonumber(limits[1]) or tonumber(limits[4])

-- The same call sent twice (ioredis resends it when a reconnect lost the reply) finds its own
-- lease and is admitted again, changing nothing: refused, its lease would be held by nobody
-- until it expired. ('' second and next: nothing of the start to give back a second time.)
local own = redis.call('ZSCORE', KEYS[2], ARGV[1])
if own and tonumber(own) > now then return {1, 1, '', ''} end
local count, period = tonumber(limits[2]), tonumber(limits[3])
if not count then count, period = tonumber(limits[5]), tonumber(limits[6]) end

if cap then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then return {0, 20, 'full'} end
end
local interval
if count and period and count > 0 then
  interval = period / count
  local next = tonumber(redis.call('GET', KEYS[3]) or '0')
  if next > now then return {0, math.ceil(next - now), 'rate'} end
end

local next = ''
if interval then
  next = tostring(now + interval)
  redis.call('SET', KEYS[3], next, 'PX', math.ceil(interval) + 60000)
end
local leased = 0
if cap then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + 60000)
  leased = 1
end
local second = tostring(math.floor(now / 1000))
redis.call('HINCRBY', KEYS[4], second, 1)
redis.call('PEXPIRE', KEYS[4], 60000)
return {1, leased, second, next}
