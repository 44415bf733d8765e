-- wrk script for the benchmark: POST /suggest with request bodies read from a file, one JSON
-- body a line, used in turn (each wrk thread starts at a different line). At the end it prints
-- one JSON line with the request count, latency percentiles (microseconds) and errors.
--   wrk -t1 -c1 -d10s --latency -s bench/suggest.lua http://127.0.0.1:PORT -- BODIES_FILE
local bodies = {}
local index = 0
local headers = {["Content-Type"] = "application/json"}
local thread_number = 0

function setup(thread)
  thread:set("offset", thread_number * 97)
  thread_number = thread_number + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the bodies file " .. tostring(args[1]))
  for line in file:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  file:close()
  index = (offset or 0) % #bodies
end

function request()
  index = index % #bodies + 1
  return wrk.format("POST", "/suggest", headers, bodies[index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
