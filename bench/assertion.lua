-- wrk script of bench/run's assertion workloads: POSTs each line of a file of pre-signed
-- request bodies (bench/node/assertions.mjs) exactly once, and checks every response as
-- post.lua does.
--
-- Environment:
--   BENCH_BODIES   the file: one x-www-form-urlencoded body per line (required)
--   BENCH_THREADS  wrk's -t; thread k (0-based) sends lines k+1, k+1+T, …, so no line
--                  is sent twice (default 1)
--   BENCH_AUTH     value of the Authorization header (optional)
--   BENCH_EXPECT   a substring every response body must contain (optional)
--
-- done() prints post.lua's result line plus `exhausted=N`: requests that found no line
-- left. Those are sent with an empty body (which the server refuses, so they count as
-- unexpected too); bench/run fails a run with any. A line is never sent twice.

local path = os.getenv("BENCH_BODIES")
if path == nil or path == "" then
  error("assertion.lua: BENCH_BODIES is not set")
end
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local auth = os.getenv("BENCH_AUTH")
local expect = os.getenv("BENCH_EXPECT")
if expect == "" then expect = nil end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

-- Runs in each thread's own Lua state (after setup has set `index` there).
function init(args)
  unexpected = 0
  exhausted = 0
  file = assert(io.open(path, "r"))
  -- Skip to this thread's first line.
  for _ = 1, index do file:read("*l") end
end

-- Called for every request (wrk also calls it once before the run, to check the request:
-- that line is skipped, never sent).
function request()
  local line = file and file:read("*l")
  if line ~= nil then
    -- The other threads' lines in between.
    for _ = 2, nthreads do file:read("*l") end
  else
    if exhausted == 0 then
      io.stderr:write("assertion.lua: no pre-signed body left in " .. path .. "\n")
    end
    exhausted = exhausted + 1
    line = ""
  end
  return wrk.format(nil, nil, nil, line)
end

function response(status, headers, resp_body)
  if status ~= 200 or (expect ~= nil and not string.find(resp_body, expect, 1, true)) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad, out = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("unexpected") or 0)
    out = out + (t:get("exhausted") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "bench_result requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d unexpected=%d socket_errors=%d exhausted=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, bad, e.connect + e.read + e.write + e.timeout, out))
end
