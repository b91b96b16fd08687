-- Counts one task outcome in the run record (attempts retried, duplicate commits ignored),
-- unless the run is gone: a count must never bring back a cleaned run as a bare record.
--
-- KEYS[1] run meta
-- ARGV[1] the field to count: retries or duplicates
--
-- Returns the new count, or 0 when the run does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
