-- Changes a running run's own limits; the limiter reads them at each map call.
--
-- KEYS[1] run meta
-- ARGV[1] concurrency ('' keeps it, '-' removes it), ARGV[2] rate count, ARGV[3] rate period
-- (ms) (both '' keep the rate, both '-' remove it)
-- Returns {'ok'}, {'ended', state} for a run that has ended, or {'lost'}.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'lost'} end
if state ~= 'submitting' and state ~= 'mapping' and state ~= 'reducing' then return {'ended', state} end
if ARGV[1] == '-' then redis.call('HDEL', KEYS[1], 'concurrency')
elseif ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'concurrency', ARGV[1]) end
if ARGV[2] == '-' then redis.call('HDEL', KEYS[1], 'rateCount', 'ratePeriodMs')
elseif ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'rateCount', ARGV[2], 'ratePeriodMs', ARGV[3]) end
return {'ok'}
