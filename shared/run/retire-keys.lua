-- Starts the retention clock of some keys of an ended run, or frees them, while it is still
-- that ended run: a retry (retry-run.lua) may bring it back to life at any moment, and from
-- then on nothing of it may expire. Called batch by batch; each batch checks again, and
-- whatever a batch did before a retry, the retry undid (it takes every key off the clock).
--
-- KEYS[1] meta, KEYS[2..] the keys of this batch (KEYS[1] itself is expired only when ARGV[3] says so)
-- ARGV[1] the generation that ended, ARGV[2] retention (ms), ARGV[3] 'expire', 'free'
-- (unlink) or 'expire-meta' (expire the batch, then the record itself: the last batch)
-- Returns 1, or 0 when the run is live again (or gone) and nothing was done.
local fields = redis.call('HMGET', KEYS[1], 'state', 'gen')
local state = fields[1]
if fields[2] ~= ARGV[1] then return 0 end
if state ~= 'done' and state ~= 'done_with_failures' and state ~= 'failed' and state ~= 'cancelled' and state ~= 'lost' then
  return 0
end
for i = 2, #KEYS do
  if ARGV[3] == 'free' then redis.call('UNLINK', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
if ARGV[3] == 'expire-meta' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
