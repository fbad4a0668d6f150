-- Key-value reads and writes for bench/kv.py, on top of post.lua's counting and its
-- WRK_RESULT line (same format, parsed by bench/srbench/wrkrun.py).
--
-- usage: wrk ... -s bench/wrk/kv.lua URL -- METHOD BODY_FILE|- SPREAD [HEADER VALUE]...
--   METHOD: GET, PUT or POST; BODY_FILE: "-" for none;
--   SPREAD: 0 to request URL's path as given, N > 0 to append "/<k>" with k cycling
--   through N paths per thread (writes spread over many secrets, not one row).

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "post.lua")

local post_init = init
local post_setup = setup
local counter = 0
local spread = 0
local base_path = nil
local thread_id = 0
local started = 0

function setup(thread)
  post_setup(thread)
  started = started + 1
  thread:set("tid", started)
end

function init(args)
  -- post.lua's init wants BODY_FILE first and then header pairs.
  local method, body, n = args[1], args[2], tonumber(args[3])
  local rest = {body == "-" and "/dev/null" or body}
  for i = 4, #args do
    table.insert(rest, args[i])
  end
  post_init(rest)
  wrk.method = method
  if body == "-" then
    wrk.body = nil
    wrk.headers["Content-Type"] = nil
  end
  spread = n or 0
  base_path = wrk.path
  thread_id = tid or 0
end

function request()
  if spread > 0 then
    counter = (counter + 1) % spread
    return wrk.format(nil, base_path .. "/t" .. thread_id .. "-" .. counter)
  end
  return wrk.format(nil, base_path)
end
