-- Runs the end-of-map-phase check on its own, for the recovery sweep: after a Redis
-- rollback or a crash, a run can hold every settled task without having flipped.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set, KEYS[4] replies hash
-- ARGV[1] request id
-- Returns {'flipped', gen} or {'unchanged'}. A call sent twice answers the same.
--@include map-phase
--@include once
local done = rememberedReply(KEYS[4], ARGV[1])
if done then return done end
if finishMapPhaseIfDone(KEYS[1], KEYS[2], KEYS[3]) then
  return remember(KEYS[4], ARGV[1], {'flipped', redis.call('HGET', KEYS[1], 'gen')})
end
return {'unchanged'}
