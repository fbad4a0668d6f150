-- POST one fixed JSON body over and over; count non-200 responses and print a
-- machine-readable summary line when the run ends.
--
-- usage: wrk -t2 -c16 -d8s --timeout 10s -s bench/wrk/post.lua URL -- BODY_FILE [HEADER VALUE]...
--
-- Output (one line, parsed by bench/run.py):
--   WRK_RESULT {"requests": N, "duration_s": S, "p50_ms": X, "p99_ms": Y, "non200": K, ...}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"), "cannot open body file " .. tostring(args[1]))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for i = 2, #args - 1, 2 do
    wrk.headers[args[i]] = args[i + 1]
  end
  non200 = 0
  statuses = ""
  seen = {}
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if not seen[status] then
      seen[status] = true
      statuses = statuses .. status .. " "
    end
  end
end

local function collect()
  local bad, codes = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    codes = codes .. t:get("statuses")
  end
  return bad, codes
end

function done(summary, latency, requests)
  local bad, codes = collect()
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_s": %.6f, "bytes": %d, '
      .. '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, '
      .. '"non200": %d, "statuses": "%s", "err_connect": %d, "err_read": %d, '
      .. '"err_write": %d, "err_status": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    bad, codes, e.connect, e.read, e.write, e.status, e.timeout))
end
