-- POST one fixed JSON body over and over; count non-200 responses (and, apart,
-- 500s and 503s with or without Retry-After) and print a machine-readable summary
-- line when the run ends.
--
-- usage: wrk -t2 -c16 -d8s --timeout 10s -s bench/wrk/post.lua URL -- BODY_FILE [HEADER VALUE]...
--
-- Output (one line, parsed by bench/srbench/wrkrun.py):
--   WRK_RESULT {"requests": N, "duration_s": S, "p50_ms": X, "p99_ms": Y, "non200": K,
--               "shed": 503s with Retry-After, "s503": all 503s, "s500": 500s,
--               "tally": {"503:SYS001": n, ...} (status and error code of each non-200), ...}

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
  non2xx = 0
  shed = 0
  s503 = 0
  s500 = 0
  statuses = ""
  seen = {}
  tally = {} -- "STATUS:CODE" -> count, CODE being the error body's "code" (or "-")
end

-- Header names arrive as the server spelled them; HTTP says they are case-insensitive.
local function has_header(headers, wanted)
  for name, _ in pairs(headers) do
    if string.lower(name) == wanted then
      return true
    end
  end
  return false
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if status < 200 or status > 299 then
      non2xx = non2xx + 1
    end
    if status == 503 then
      s503 = s503 + 1
      if has_header(headers, "retry-after") then
        shed = shed + 1
      end
    elseif status == 500 then
      s500 = s500 + 1
    end
    local code = body and string.match(body, '"code"%s*:%s*"([%w_]+)"') or "-"
    local key = status .. ":" .. code
    tally[key] = (tally[key] or 0) + 1
    if not seen[status] then
      seen[status] = true
      statuses = statuses .. status .. " "
    end
  end
end

local function collect()
  local t = {non200 = 0, non2xx = 0, shed = 0, s503 = 0, s500 = 0, codes = "", tally = {}}
  for _, th in ipairs(threads) do
    for key, n in pairs(th:get("tally")) do
      t.tally[key] = (t.tally[key] or 0) + n
    end
    for _, k in ipairs({"non200", "non2xx", "shed", "s503", "s500"}) do
      t[k] = t[k] + th:get(k)
    end
    t.codes = t.codes .. th:get("statuses")
  end
  return t
end

local function tally_json(tally)
  local parts = {}
  for key, n in pairs(tally) do
    table.insert(parts, string.format('"%s": %d', key, n))
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local c = collect()
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_s": %.6f, "bytes": %d, '
      .. '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, '
      .. '"non200": %d, "non2xx": %d, "shed": %d, "s503": %d, "s500": %d, "statuses": "%s", '
      .. '"tally": %s, '
      .. '"err_connect": %d, "err_read": %d, "err_write": %d, "err_status": %d, '
      .. '"err_timeout": %d}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    c.non200, c.non2xx, c.shed, c.s503, c.s500, c.codes, tally_json(c.tally),
    e.connect, e.read, e.write, e.status, e.timeout))
end
