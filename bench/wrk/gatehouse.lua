-- wrk script for bench/run.sh.
--
-- BENCH_MODE selects the request:
--   get     plain GET of the URL's path (e.g. /healthz)
--   mint    POST /v1/client/sessions/{sid}/tokens with `Authorization: Client <token>`,
--           cycling through the "client_token session_id" lines of BENCH_FILE
--   signin  POST /v1/client/sign_ins {"identifier", "password"} with no client, cycling
--           through the identifiers (one a line) of BENCH_FILE; BENCH_PASSWORD is the
--           password of all of them
-- At the end it prints one JSON line (prefixed "WRK_JSON ") with the request count,
-- rate, non-2xx/3xx count, socket errors and latency percentiles in milliseconds.

local mode = os.getenv("BENCH_MODE") or "get"
local file = os.getenv("BENCH_FILE")
local password = os.getenv("BENCH_PASSWORD") or ""

local function read_lines(path)
  local lines = {}
  if path then
    for line in io.lines(path) do
      if line ~= "" then
        lines[#lines + 1] = line
      end
    end
  end
  return lines
end

local requests = {}
local index = 0

local thread_id = 0
function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  local id = tonumber(wrk.thread:get("thread_id")) or 0
  if mode == "mint" then
    for _, line in ipairs(read_lines(file)) do
      local token, sid = line:match("^(%S+)%s+(%S+)$")
      requests[#requests + 1] = wrk.format("POST", "/v1/client/sessions/" .. sid .. "/tokens",
        { ["Authorization"] = "Client " .. token, ["Content-Length"] = "0" })
    end
  elseif mode == "signin" then
    for _, identifier in ipairs(read_lines(file)) do
      local body = '{"identifier":"' .. identifier .. '","password":"' .. password .. '"}'
      requests[#requests + 1] = wrk.format("POST", "/v1/client/sign_ins",
        { ["Content-Type"] = "application/json" }, body)
    end
  else
    requests[1] = wrk.format("GET", wrk.path)
  end
  -- Threads start at different offsets so they don't walk the list in lockstep.
  index = (id * 7919) % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  local ms = function(p) return latency:percentile(p) / 1000.0 end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%.3f,"rps":%.2f,"non2xx":%d,"socket_errors":%d,'
      .. '"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, seconds, summary.requests / seconds, errors.status,
    errors.connect + errors.read + errors.write, errors.timeout,
    ms(50), ms(90), ms(99), latency.max / 1000.0, latency.mean / 1000.0))
end
