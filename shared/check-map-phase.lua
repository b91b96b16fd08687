-- Runs the end-of-map-phase check on its own, for the recovery sweep: after a Redis
-- rollback or a crash, a run can hold every settled task without having flipped.
--
-- KEYS[1] meta, KEYS[2] committed set, KEYS[3] failed set
-- Returns {'flipped', gen} or {'unchanged'}.
--@include map-phase
if finishMapPhaseIfDone(KEYS[1], KEYS[2], KEYS[3]) then
  return {'flipped', redis.call('HGET', KEYS[1], 'gen')}
end
return {'unchanged'}
