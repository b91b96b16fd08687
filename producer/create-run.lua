-- Creates a run record, or resumes one that a crashed producer left in `submitting`.
--
-- KEYS[1] run meta hash
-- ARGV[1] job name, ARGV[2] job fingerprint, ARGV[3..] field/value pairs of a new record
--
-- Returns {'created'}; {'resumed', chunkSize, options} when the same job version left the
-- run in `submitting` (the caller re-streams its inputs and adds only what is missing);
-- {'exists', state} when the run is past submitting; {'conflict', job, fingerprint} when
-- the id belongs to another job or version. Writes nothing unless it returns 'created'.
--@include time
local meta = KEYS[1]
local existing = redis.call('HMGET', meta, 'state', 'job', 'fingerprint', 'chunkSize', 'options')
if existing[1] then
  if existing[2] ~= ARGV[1] or existing[3] ~= ARGV[2] then
    return {'conflict', existing[2] or '', existing[3] or ''}
  end
  if existing[1] ~= 'submitting' then return {'exists', existing[1]} end
  return {'resumed', existing[4], existing[5]}
end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', meta, 'job', ARGV[1], 'fingerprint', ARGV[2], 'state', 'submitting', 'gen', 1,
  'sealed', 0, 'total', 0, 'extra', 0, 'itemsDone', 0, 'createdAt', nowMs(), unpack(fields))
return {'created'}
