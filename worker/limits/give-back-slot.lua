-- Undoes one admission by acquire-slot.lua whose call did not start (the call's other step,
-- in another scope, refused it): a refused attempt must not count as a start, hold a slot
-- or spend a rate token.
--
-- KEYS[1] leases sorted set, KEYS[2] next allowed start (ms), KEYS[3] starts per second (hash)
-- ARGV[1] lease id ('' when no lease was taken), ARGV[2] the second the start was counted
-- in, ARGV[3] the next allowed start the admission set ('' when no rate applied)
--
-- The rate token comes back only while no later call has taken one (the next allowed start
-- is still the one this admission set). Before the admission the next allowed start was
-- already due (else it would have refused), so deleting it is the same as restoring it: as
-- if this call had never asked, and real starts stay period/count apart. Once a later call
-- took a token, that call's start counts from its own time and this token stays spent.
-- Returns 1.
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
if tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
end
return 1
