-- Include: the server's clock in milliseconds, so timestamps do not depend on clients' clocks.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
