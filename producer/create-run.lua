-- Creates a run record, or resumes one that a crashed producer left in `submitting`.
--
-- KEYS[1] run meta hash
-- ARGV[1] job name, ARGV[2] job fingerprint, ARGV[3] the incarnation this producer made up
-- (random, one per create call), ARGV[4..] field/value pairs of a new record
--
-- The incarnation tells this run from any earlier run of the same id (cleaned since): every
-- task carries it, and every script that acts on a task checks it. It doubles as the
-- call's request id: a create that runs twice (ioredis resent it, its reply lost) finds its
-- own incarnation and answers 'created' again.
--
-- Returns {'created'}; {'resumed', chunkSize, options, incarnation} when the same job
-- version left the run in `submitting` (the caller re-streams its inputs and adds only what
-- is missing, under the stored incarnation); {'exists', state} when the run is past
-- submitting; {'conflict', job, fingerprint} when the id belongs to another job or version.
-- Writes nothing unless it returns 'created'.
--@include time
local meta = KEYS[1]
local existing = redis.call('HMGET', meta, 'state', 'job', 'fingerprint', 'chunkSize', 'options', 'inc')
if existing[1] then
  if existing[6] == ARGV[3] then return {'created'} end
  if existing[2] ~= ARGV[1] or existing[3] ~= ARGV[2] then
    return {'conflict', existing[2] or '', existing[3] or ''}
  end
  if existing[1] ~= 'submitting' then return {'exists', existing[1]} end
  return {'resumed', existing[4], existing[5], existing[6]}
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
local now = nowMs()
redis.call('HSET', meta, 'job', ARGV[1], 'fingerprint', ARGV[2], 'inc', ARGV[3], 'state', 'submitting', 'gen', 1,
  'sealed', 0, 'total', 0, 'extra', 0, 'itemsDone', 0, 'createdAt', now, 'producerAt', now, unpack(fields))
return {'created'}
