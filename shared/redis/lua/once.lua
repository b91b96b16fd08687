-- Include: a script's reply remembered under the caller's request id.
--
-- ioredis sends a command again after a reconnect when its reply was lost (Redis restarted
-- after writing its AOF, a connection cut), so a script may run twice for one call. A
-- script that changed something stores its reply under the request id the caller sent
-- (one per call, never reused), and a second run of the same call returns that reply and
-- changes nothing. Replies live in the run's `replies` hash, removed with the run.

-- The reply an earlier run of this call gave, or nil.
local function rememberedReply(repliesKey, requestId)
  local stored = redis.call('HGET', repliesKey, requestId)
  if stored then return cjson.decode(stored) end
  return nil
end

-- Stores and returns the reply of a call that changed something.
local function remember(repliesKey, requestId, reply)
  redis.call('HSET', repliesKey, requestId, cjson.encode(reply))
  return reply
end
