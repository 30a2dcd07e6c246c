-- wrk script of bench/run: POSTs one form body and checks every response.
--
-- Environment:
--   BENCH_BODY    the x-www-form-urlencoded body (required)
--   BENCH_AUTH    value of the Authorization header (optional)
--   BENCH_EXPECT  a substring every response body must contain (optional)
--
-- done() prints one machine-readable line for bench/run:
--   bench_result requests=N duration_us=N p50_us=N p99_us=N non2xx=N unexpected=N
--                socket_errors=N
-- where `unexpected` counts responses that were not 200 or lacked BENCH_EXPECT.

local body = os.getenv("BENCH_BODY")
if body == nil or body == "" then
  error("post.lua: BENCH_BODY is not set")
end
local auth = os.getenv("BENCH_AUTH")
local expect = os.getenv("BENCH_EXPECT")
if expect == "" then expect = nil end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, resp_body)
  if status ~= 200 or (expect ~= nil and not string.find(resp_body, expect, 1, true)) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "bench_result requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d unexpected=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, bad, e.connect + e.read + e.write + e.timeout))
end
