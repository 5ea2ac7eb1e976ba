-- wrk script for `cargo xtask bench`: one credvault request shape per run, chosen by environment.
--
--   CV_BENCH_MODE    patch | get | use | healthz
--   CV_BENCH_TOKEN   the bearer token (never printed); for use, a service account's access token
--   CV_BENCH_PREFIX  /api/v1/teams/<team>/integrations/
--   CV_BENCH_IDS     a file with one credential id per line; one id: every request hits it,
--                    more: each thread walks through them from its own offset
--
-- Every PATCH sets metadata.n to a value no other request uses, so each one is a real write
-- (a PATCH that changes nothing writes nothing). A use is `POST <prefix><id>/use` with an empty
-- body (Content-Length: 0); its answer holds plaintext secrets, which wrk reads and drops.
-- done() prints one JSON line for xtask.

local mode = os.getenv("CV_BENCH_MODE") or "healthz"
local token = os.getenv("CV_BENCH_TOKEN") or ""
local prefix = os.getenv("CV_BENCH_PREFIX") or "/"
local ids_file = os.getenv("CV_BENCH_IDS")

local thread_counter = 0
function setup(thread)
   thread:set("thread_index", thread_counter)
   thread_counter = thread_counter + 1
end

local ids = {}
local sequence = 0
local headers = {}

function init(args)
   if ids_file then
      for line in io.lines(ids_file) do
         if #line > 0 then ids[#ids + 1] = line end
      end
   end
   headers["Authorization"] = "Bearer " .. token
   if mode == "patch" then
      headers["Content-Type"] = "application/merge-patch+json"
   end
   -- Threads start at different rows and count in disjoint ranges.
   sequence = (thread_index or 0) * 1000003
end

function request()
   sequence = sequence + 1
   if mode == "healthz" then
      return wrk.format("GET", "/healthz", headers)
   end
   local id = ids[(sequence % #ids) + 1]
   if mode == "get" then
      return wrk.format("GET", prefix .. id, headers)
   end
   if mode == "use" then
      return wrk.format("POST", prefix .. id .. "/use", headers, "")
   end
   local n = (thread_index or 0) * 1000000000 + sequence
   return wrk.format("PATCH", prefix .. id, headers, '{"metadata":{"n":' .. n .. '}}')
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"wrk":{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,'
         .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,'
         .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
end
